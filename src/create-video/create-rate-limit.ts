// Per-tenant token buckets for creates: in this process, or in Redis so replicas share them. The
// Redis bucket is one small script (refill, take) run atomically with Redis's own clock; while
// Redis is away, the local buckets decide, so creates go on under a local limit.
import { TokenBuckets, type BucketShape, type RateDecision } from '../token-buckets.js';
import type { Logger } from '../logger.js';
import type { SharedRedis } from '../redis-connection.js';

export interface CreateRateLimit {
  take(tenant: string): Promise<RateDecision>;
}

/** The in-process buckets, behind the same (async) interface as the Redis ones. */
export class LocalTokenBuckets implements CreateRateLimit {
  readonly #buckets: TokenBuckets;

  constructor(shape: BucketShape) {
    this.#buckets = new TokenBuckets(shape);
  }

  async take(tenant: string): Promise<RateDecision> {
    return this.#buckets.take(tenant);
  }
}

// KEYS[1]: the bucket. ARGV: capacity, tokens per millisecond, key lifetime in ms.
// Returns { 1, 0 } when a token was taken, else { 0, milliseconds until one is available }.
const TAKE_TOKEN = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local taken, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { taken, wait }`;

export class RedisTokenBuckets implements CreateRateLimit {
  readonly #redis: SharedRedis;
  readonly #shape: BucketShape;
  readonly #fallback: CreateRateLimit;
  readonly #logger: Logger;

  constructor(redis: SharedRedis, shape: BucketShape, fallback: CreateRateLimit, logger: Logger) {
    this.#redis = redis;
    this.#shape = shape;
    this.#fallback = fallback;
    this.#logger = logger.child({ component: 'create-rate-limit' });
  }

  async take(tenant: string): Promise<RateDecision> {
    const perMs = this.#shape.perMinute / 60_000;
    // A bucket left alone refills completely within this time, after which it may as well not exist.
    const lifetimeMs = Math.ceil(this.#shape.burst / perMs) + 60_000;
    try {
      const [taken, waitMs] = (await this.#redis.client.eval(
        TAKE_TOKEN,
        1,
        `${this.#redis.prefix}rate:create:${tenant}`,
        String(this.#shape.burst),
        String(perMs),
        String(lifetimeMs),
      )) as [number, number];
      return taken === 1 ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'shared rate limit unavailable: using the local one');
      return this.#fallback.take(tenant);
    }
  }
}
