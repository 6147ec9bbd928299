// How often one owner (a tenant, or a caller address on an open gateway) may make the gateway ask
// the upstream about task ids it has never seen exist. Without it, a client that sends random ids
// turns every id into an upstream call. Ids the gateway signed are authentic by construction, so
// this is only used where ids are taken verbatim (an open gateway).
import { LRUCache } from 'lru-cache';
import { TokenBucket } from 'limiter';

export type ReadDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface UnknownReadShape {
  perMinute: number;
  burst: number;
}

// Owners are tenants or addresses: bounded, so a spray of source addresses cannot grow the map.
const MAX_OWNERS = 10_000;

export class UnknownTaskReads {
  readonly #shape: UnknownReadShape;
  readonly #buckets = new LRUCache<string, TokenBucket>({ max: MAX_OWNERS });

  constructor(shape: UnknownReadShape) {
    this.#shape = shape;
  }

  take(owner: string): ReadDecision {
    let bucket = this.#buckets.get(owner);
    if (!bucket) {
      bucket = new TokenBucket({ bucketSize: this.#shape.burst, tokensPerInterval: this.#shape.perMinute, interval: 'minute' });
      // limiter's buckets start empty; a new owner may use its burst at once.
      bucket.content = this.#shape.burst;
      this.#buckets.set(owner, bucket);
    }
    if (bucket.tryRemoveTokens(1)) return { ok: true };
    const msPerToken = 60_000 / this.#shape.perMinute;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.content) * msPerToken) / 1000)) };
  }
}
