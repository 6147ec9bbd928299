// Idempotency records in Redis, so replicas agree. The claim is atomic (SET NX with an in-flight
// marker that outlives the longest create attempt); a request that loses waits for the winner's
// result, for a bounded time. Without Redis a keyed create fails closed: never a second billed video.
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { SharedRedis } from '../redis-connection.js';
import { IDEMPOTENCY_TTL_MS, scopedKey, type Claim, type CreateOutcome, type IdempotencyStore } from './idempotency.js';

interface StoredRecord {
  fingerprint: string;
  owner: string;
  outcome?: CreateOutcome;
}

// Change the record only while this claim still owns it (its marker may have expired meanwhile).
const SET_IF_OWNER = `
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).owner == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  return 1
end
return 0`;

const POLL_INTERVAL_MS = 100;

export interface RedisIdempotencyOptions {
  /** How long a claim stays in flight: longer than any create attempt can take. */
  inFlightMs: number;
  /** How long a request waits for another one holding the same key. */
  waitMs: number;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: SharedRedis;
  readonly #options: RedisIdempotencyOptions;
  readonly #logger: Logger;

  constructor(redis: SharedRedis, options: RedisIdempotencyOptions, logger: Logger) {
    this.#redis = redis;
    this.#options = options;
    this.#logger = logger.child({ component: 'idempotency' });
  }

  async claim(tenant: string | null, key: string, fingerprint: string): Promise<Claim> {
    // The key name holds a hash: neither tenant nor client key text ends up in Redis key space.
    const redisKey = `${this.#redis.prefix}idem:${createHash('sha256').update(scopedKey(tenant, key)).digest('base64url')}`;
    const deadline = Date.now() + this.#options.waitMs;
    try {
      for (;;) {
        const owner = randomUUID();
        const marker: StoredRecord = { fingerprint, owner };
        const won = await this.#redis.client.set(redisKey, JSON.stringify(marker), 'PX', this.#options.inFlightMs, 'NX');
        if (won === 'OK') return this.#claimed(redisKey, marker);

        const raw = await this.#redis.client.get(redisKey);
        if (raw === null) continue; // freed between our SET and GET: try to claim again
        const existing = JSON.parse(raw) as StoredRecord;
        if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (existing.outcome) return { kind: 'replay', outcome: existing.outcome };
        if (Date.now() >= deadline) {
          const pttl = await this.#redis.client.pttl(redisKey);
          return { kind: 'in-progress', retryAfterSeconds: Math.max(1, Math.ceil(Math.min(Math.max(pttl, 0), 5000) / 1000)) };
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    } catch (error) {
      // A claim whose SET timed out may still have landed: it stays in flight until its marker
      // expires, and this request fails closed instead of claiming again.
      this.#logger.warn({ err: { message: (error as Error).message } }, 'idempotency store unavailable');
      return { kind: 'unavailable' };
    }
  }

  #claimed(redisKey: string, marker: StoredRecord): Claim {
    const write = async (value: string, ttlMs: number, what: string) => {
      try {
        await this.#redis.client.eval(SET_IF_OWNER, 1, redisKey, marker.owner, value, String(ttlMs));
      } catch (error) {
        // The in-flight marker stays until it expires: replays meanwhile get IDEMPOTENCY_IN_PROGRESS.
        this.#logger.error({ err: { message: (error as Error).message }, what }, 'could not record an idempotent create');
      }
    };
    return {
      kind: 'claimed',
      settle: (outcome) => write(JSON.stringify({ ...marker, outcome } satisfies StoredRecord), IDEMPOTENCY_TTL_MS, 'outcome'),
      free: () => write('', 0, 'release'),
    };
  }
}
