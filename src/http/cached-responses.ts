// Finished responses of task queries, kept as bytes so a repeat can be written without entering
// Yoga at all. Each entry lives as long as the staleest task in it may be served (ResponseLifetime).
import { LRUCache } from 'lru-cache';

export interface CachedResponse {
  body: Buffer;
  headers: Record<string, string>;
  /** The metrics label of the operation, so cached answers are counted like executed ones. */
  operation: string;
}

export class CachedResponses {
  readonly #entries: LRUCache<string, CachedResponse>;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache<string, CachedResponse>({ max: maxEntries });
  }

  get(key: string): CachedResponse | undefined {
    return this.#entries.get(key);
  }

  set(key: string, response: CachedResponse, ttlMs: number): void {
    if (ttlMs > 0) this.#entries.set(key, response, { ttl: ttlMs });
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
