// Token buckets per key (a tenant, a caller address), in this process: a rate per minute and a
// burst. Keys are kept in an LRU, so a spray of new keys cannot grow the map without bound.
import { TokenBucket } from 'limiter';
import { LRUCache } from 'lru-cache';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface BucketShape {
  perMinute: number;
  burst: number;
}

const MAX_KEYS = 10_000;

export class TokenBuckets {
  readonly #shape: BucketShape;
  readonly #buckets = new LRUCache<string, TokenBucket>({ max: MAX_KEYS });

  constructor(shape: BucketShape) {
    this.#shape = shape;
  }

  take(key: string): RateDecision {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket({ bucketSize: this.#shape.burst, tokensPerInterval: this.#shape.perMinute, interval: 'minute' });
      // limiter's buckets start empty; a new key may use its burst at once.
      bucket.content = this.#shape.burst;
      this.#buckets.set(key, bucket);
    }
    if (bucket.tryRemoveTokens(1)) return { ok: true };
    const msPerToken = 60_000 / this.#shape.perMinute;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.content) * msPerToken) / 1000)) };
  }
}
