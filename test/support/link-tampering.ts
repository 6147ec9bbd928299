// Altering a signed link the way an attacker would: one character of a part changed, a query
// parameter changed or dropped. Suites check each altered link is refused.

/** `text` with the character at `at` replaced by another base64url character. */
export function flipCharAt(text: string, at: number): string {
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
}

/** `url` with the query parameter `name` set to `value`, or removed (null). */
export function withSearchParam(url: URL, name: string, value: string | null): string {
  const copy = new URL(url);
  if (value === null) copy.searchParams.delete(name);
  else copy.searchParams.set(name, value);
  return copy.toString();
}
