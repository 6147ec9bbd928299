// Yoga keeps parsed documents (and parse failures) keyed by the query text, by default 1024 of each
// for an hour whatever their size: a query padded with a 5 MB comment would be kept under its 5 MB
// text. These caches keep only queries of a sane length and are bounded in (estimated) bytes.
import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/** A real query is a few KB; longer texts are parsed every time rather than kept. */
const MAX_CACHED_QUERY_CHARS = 16 * 1024;
/** A parsed document takes many times the memory of its text (measured: roughly 10–30×). */
const BYTES_PER_QUERY_CHAR = 32;
const ENTRY_OVERHEAD_BYTES = 1024;
const MAX_BYTES = 32 * 1024 * 1024;
const TTL_MS = 60 * 60 * 1000;

interface TextKeyedCache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
}

function boundedCache<T extends object>(): TextKeyedCache<T> {
  const entries = new LRUCache<string, T>({
    max: 1024,
    maxSize: MAX_BYTES,
    ttl: TTL_MS,
    sizeCalculation: (_value, key) => key.length * BYTES_PER_QUERY_CHAR + ENTRY_OVERHEAD_BYTES,
  });
  return {
    get: (key) => entries.get(key),
    set: (key, value) => {
      if (key.length <= MAX_CACHED_QUERY_CHARS) entries.set(key, value);
    },
  };
}

export function createParseCaches(): { documentCache: TextKeyedCache<DocumentNode>; errorCache: TextKeyedCache<object> } {
  return { documentCache: boundedCache<DocumentNode>(), errorCache: boundedCache<object>() };
}
