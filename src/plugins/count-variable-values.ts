// Counts the values in an operation's variables, as parsed from JSON, before graphql-js coerces
// them. Coercion and everything after it (validation, error lists) cost time and memory in
// proportion to the values sent, so a request with too many is refused while that is still cheap.
// Used by the HTTP path (use-variable-limits.ts) and the WebSocket path alike.

/**
 * The number of values in `variables`: each array item and each object field counts 1, whatever
 * it holds, and a bare scalar counts 1; the variables object itself and null/undefined count 0.
 * The walk stops as soon as the count passes `maxValues`, returning some number above it, so
 * the work is bounded by `maxValues` rather than by the input. Iterative, with an explicit stack:
 * deep nesting cannot overflow the call stack.
 */
export function countVariableValues(variables: unknown, maxValues: number): number {
  if (variables === null || variables === undefined) return 0;
  if (typeof variables !== 'object') return 1;
  const pending: object[] = [variables];
  let count = 0;
  while (pending.length > 0) {
    const container = pending.pop() as object;
    // Object.values, not keys and lookups: a JSON "__proto__" field is an own property like any other.
    const children: readonly unknown[] = Array.isArray(container) ? container : Object.values(container);
    // Counted before being read, so a huge array is refused without walking it.
    count += children.length;
    if (count > maxValues) return count;
    for (const child of children) {
      if (child !== null && typeof child === 'object') pending.push(child);
    }
  }
  return count;
}

/** Whether `variables` holds more than `maxValues` values (see countVariableValues). */
export function exceedsVariableValues(variables: unknown, maxValues: number): boolean {
  return countVariableValues(variables, maxValues) > maxValues;
}
