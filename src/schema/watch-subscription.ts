// The document a watch link runs: the taskUpdates subscription with every Task field a page may
// show. Parsed and validated once; run with graphql-js's subscribe against the gateway's schema and
// a context made for the link's view, so events are exactly what a WebSocket or SSE subscriber of
// that caller would get (same resolvers, same shared poller, same masked errors).
import { GraphQLError, parse, subscribe, validate, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { MaskError } from 'graphql-yoga';

const WATCH_DOCUMENT = parse(`subscription WatchTask($id: ID!) {
  taskUpdates(id: $id) {
    id status isTerminal progressPercent etaSeconds failureReason seed submittedAt completedAt createdAt prompt
    videos { url format expiresAt stored }
  }
}`);

export interface WatchSubscriptionRun {
  schema: GraphQLSchema;
  /** The per-operation context (context.ts) for the link's tenant and user. */
  contextValue: object;
  /** The task id as that caller sees it. */
  id: string;
  maskError: MaskError;
}

function masked(result: ExecutionResult, maskError: MaskError): ExecutionResult {
  if (!result.errors) return result;
  return { ...result, errors: result.errors.map((error) => maskError(error, 'Unexpected error.') as GraphQLError) };
}

/**
 * Masks each result. Not an async generator: a generator's return() waits behind its pending next()
 * (until the task's next change), so a browser that left would hold its watcher until then; this
 * return() reaches the subscription at once.
 */
function maskEach(results: AsyncIterable<ExecutionResult>, maskError: MaskError): AsyncIterableIterator<ExecutionResult> {
  const source = results[Symbol.asyncIterator]();
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const next = await source.next();
      return next.done ? next : { done: false, value: masked(next.value, maskError) };
    },
    return: async () => {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export async function runWatchSubscription(run: WatchSubscriptionRun): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  const problems = validate(run.schema, WATCH_DOCUMENT);
  if (problems.length > 0) return masked({ errors: problems }, run.maskError);
  const result = await subscribe({ schema: run.schema, document: WATCH_DOCUMENT, variableValues: { id: run.id }, contextValue: run.contextValue });
  return Symbol.asyncIterator in result ? maskEach(result, run.maskError) : masked(result, run.maskError);
}
