// Who may start a billed create right now: the tenant's token bucket (rate and burst) and a cap
// on creates in flight in this process. Checked before the upstream is called, so a refusal costs nothing.
import type { CreateLimitsConfig } from '../config.js';
import type { CreateRateLimit } from './create-rate-limit.js';

export type Admission = { admitted: true; release(): void } | { admitted: false; retryAfterSeconds: number; reason: string };

// When the concurrency cap is full, a slot frees within one upstream call: a short wait is the honest hint.
const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

export class CreateAdmission {
  readonly #config: CreateLimitsConfig;
  readonly #rateLimit: CreateRateLimit;
  #inFlight = 0;

  constructor(config: CreateLimitsConfig, rateLimit: CreateRateLimit) {
    this.#config = config;
    this.#rateLimit = rateLimit;
  }

  async tryAdmit(tenant: string | null): Promise<Admission> {
    if (this.#inFlight >= this.#config.maxConcurrent) {
      return { admitted: false, retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS, reason: 'Too many video creations are in progress; try again shortly.' };
    }
    // Hold the slot while the bucket is asked, so concurrent requests cannot all pass the cap check.
    this.#inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
    const decision = await this.#rateLimit.take(tenant ?? '');
    if (!decision.ok) {
      release();
      return {
        admitted: false,
        retryAfterSeconds: decision.retryAfterSeconds,
        reason: `Create rate limit reached (${this.#config.perMinute} per minute, bursts of ${this.#config.burst}).`,
      };
    }
    return { admitted: true, release };
  }
}
