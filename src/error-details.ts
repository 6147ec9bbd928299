// What may be said of an error caught from anywhere (a driver, the network, the file system): its
// `code`, and the first line of its message (later lines of driver errors carry stacks, queries or
// request bodies). One place, so every log line and one-line start-up failure reads errors alike.

/** The error's string `code` (ENOENT, ECONNRESET, SQLITE_BUSY…), if it has one. */
export function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first line of the error's message (or of what it turns into as a string), at most `maxChars`. */
export function firstLineOf(error: unknown, maxChars = Number.POSITIVE_INFINITY): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n', 1)[0] ?? '').slice(0, maxChars);
}
