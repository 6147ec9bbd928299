// Who may start a billed create right now: the tenant's token bucket (rate and burst), a cap on
// creates in flight in this process, and a smaller cap per tenant so one tenant's slow creates
// cannot take every slot from the others. Checked before the upstream is called, so a refusal
// costs nothing. (An open gateway has one tenant: only the process cap applies there.)
import type { CreateLimitsConfig } from '../config.js';
import type { CreateRateLimit } from './create-rate-limit.js';

export type Admission = { admitted: true; release(): void } | { admitted: false; retryAfterSeconds: number; reason: string };

// When the concurrency cap is full, a slot frees within one upstream call: a short wait is the honest hint.
const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

export class CreateAdmission {
  readonly #config: CreateLimitsConfig;
  readonly #rateLimit: CreateRateLimit;
  #inFlight = 0;
  readonly #inFlightByTenant = new Map<string, number>();

  readonly #userRateLimit: CreateRateLimit | undefined;

  /** `userRateLimit`: the buckets of signed-in users, taken beside the tenant's. */
  constructor(config: CreateLimitsConfig, rateLimit: CreateRateLimit, userRateLimit?: CreateRateLimit) {
    this.#config = config;
    this.#rateLimit = rateLimit;
    this.#userRateLimit = userRateLimit;
  }

  /** `userOwner`: where a signed-in user's own rate counts (undefined for a client key). */
  async tryAdmit(tenant: string | null, userOwner?: string): Promise<Admission> {
    const ofTenant = tenant === null ? 0 : (this.#inFlightByTenant.get(tenant) ?? 0);
    if (tenant !== null && ofTenant >= this.#config.maxConcurrentPerTenant) {
      return {
        admitted: false,
        retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS,
        reason: `This client already has ${this.#config.maxConcurrentPerTenant} video creations in progress; try again shortly.`,
      };
    }
    if (this.#inFlight >= this.#config.maxConcurrent) {
      return { admitted: false, retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS, reason: 'Too many video creations are in progress; try again shortly.' };
    }
    // Hold the slots while the bucket is asked, so concurrent requests cannot all pass the cap checks.
    this.#inFlight++;
    if (tenant !== null) this.#inFlightByTenant.set(tenant, ofTenant + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      if (tenant === null) return;
      const left = (this.#inFlightByTenant.get(tenant) ?? 1) - 1;
      if (left > 0) this.#inFlightByTenant.set(tenant, left);
      else this.#inFlightByTenant.delete(tenant);
    };
    // The user's own bucket first: a user over their rate takes nothing from the tenant's.
    if (userOwner !== undefined && this.#userRateLimit) {
      const ofUser = await this.#userRateLimit.take(userOwner);
      if (!ofUser.ok) {
        release();
        return {
          admitted: false,
          retryAfterSeconds: ofUser.retryAfterSeconds,
          reason: `Your create rate limit is reached (${this.#config.userPerMinute} per minute, bursts of ${this.#config.userBurst}).`,
        };
      }
    }
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
