// Who may start a billed create right now: a token bucket per tenant (rate and burst) and a cap on
// creates in flight in this process. Checked before the upstream is called, so a refusal costs nothing.
import { TokenBucket } from 'limiter';
import type { CreateLimitsConfig } from '../config.js';

export type Admission = { admitted: true; release(): void } | { admitted: false; retryAfterSeconds: number; reason: string };

// When the concurrency cap is full, a slot frees within one upstream call: a short wait is the honest hint.
const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

export class CreateAdmission {
  readonly #config: CreateLimitsConfig;
  readonly #buckets = new Map<string, TokenBucket>();
  #inFlight = 0;

  constructor(config: CreateLimitsConfig) {
    this.#config = config;
  }

  tryAdmit(tenant: string | null): Admission {
    if (this.#inFlight >= this.#config.maxConcurrent) {
      return { admitted: false, retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS, reason: 'Too many video creations are in progress; try again shortly.' };
    }
    const bucket = this.#bucketFor(tenant ?? '');
    if (!bucket.tryRemoveTokens(1)) {
      const msPerToken = 60_000 / this.#config.perMinute;
      return {
        admitted: false,
        retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.content) * msPerToken) / 1000)),
        reason: `Create rate limit reached (${this.#config.perMinute} per minute, bursts of ${this.#config.burst}).`,
      };
    }
    this.#inFlight++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }

  #bucketFor(tenant: string): TokenBucket {
    let bucket = this.#buckets.get(tenant);
    if (!bucket) {
      bucket = new TokenBucket({ bucketSize: this.#config.burst, tokensPerInterval: this.#config.perMinute, interval: 'minute' });
      // limiter's buckets start empty; a new tenant may use its burst at once.
      bucket.content = this.#config.burst;
      this.#buckets.set(tenant, bucket);
    }
    return bucket;
  }
}
