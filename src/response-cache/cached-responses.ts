// Finished responses of task queries, kept as bytes so a repeat can be written without entering
// Yoga at all. Each entry lives as long as the staleest task in it may be served (ResponseLifetime).
//
// Bounded in bytes as well as in entries: a client chooses how large a response is (aliases × ids)
// and makes every request a new entry (a new operation name), so an entry bound alone lets a few
// thousand requests hold gigabytes for the better part of an hour.
import { LRUCache } from 'lru-cache';

export interface CachedResponse {
  body: Buffer;
  headers: Record<string, string>;
  /** The metrics label of the operation, so cached answers are counted like executed ones. */
  operation: string;
}

export interface CachedResponsesOptions {
  maxEntries: number;
  /** Bound on the sum of entry sizes (see `cachedResponseSize`). */
  maxBytes: number;
  /** A response larger than this is not kept at all. */
  maxEntryBytes: number;
}

// What an entry costs besides its body and strings: the entry and headers objects, the Buffer and
// its backing store, the cache's own bookkeeping. An estimate; it matters only for small entries.
const ENTRY_OVERHEAD_BYTES = 512;

/** The bytes one entry is counted as: body, key, header names and values, plus a fixed overhead. */
export function cachedResponseSize(key: string, response: CachedResponse): number {
  let size = ENTRY_OVERHEAD_BYTES + response.body.length + key.length + response.operation.length;
  for (const name in response.headers) size += name.length + (response.headers[name]?.length ?? 0);
  return size;
}

export class CachedResponses {
  readonly #entries: LRUCache<string, CachedResponse>;
  /** The largest body worth building a Buffer for: anything larger cannot be kept. */
  readonly maxBodyBytes: number;

  constructor({ maxEntries, maxBytes, maxEntryBytes }: CachedResponsesOptions) {
    const maxEntrySize = Math.min(maxEntryBytes, maxBytes);
    this.maxBodyBytes = Math.max(0, maxEntrySize - ENTRY_OVERHEAD_BYTES);
    this.#entries = new LRUCache<string, CachedResponse>({
      max: maxEntries,
      maxSize: maxBytes,
      // Larger entries are refused by set(): a single response never pushes out the whole cache.
      maxEntrySize,
      sizeCalculation: (response, key) => cachedResponseSize(key, response),
    });
  }

  get(key: string): CachedResponse | undefined {
    return this.#entries.get(key);
  }

  /** Keeps `response` for `ttlMs`; returns whether it was kept (false when expired or too large). */
  set(key: string, response: CachedResponse, ttlMs: number): boolean {
    if (ttlMs <= 0) return false;
    const status: LRUCache.Status<string, CachedResponse> = {};
    this.#entries.set(key, response, { ttl: ttlMs, status });
    return status.maxEntrySizeExceeded !== true;
  }

  /** Entries held (expired ones included until they are next touched or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** The sum of the held entries' sizes, never above `maxBytes`. */
  get bytes(): number {
    return this.#entries.calculatedSize;
  }
}

/** A slot the HTTP layer hands to Yoga (as server context) so the finished response can be kept. */
export interface ResponseCacheSlot {
  key: string;
  /** Set during execution when the response may be reused. */
  result?: unknown;
  ttlMs?: number;
  operation?: string;
}
