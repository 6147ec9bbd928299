// Whether the upstream looks unreachable from this replica, for readiness: degraded after a run of
// consecutive timed-out attempts. An HTTP answer of any kind ends the run (the upstream is there).
// The degraded state lapses on its own some time after the last timeout, so a replica taken out of
// rotation comes back and can probe; the run is kept, so one more timeout then degrades it again
// at once (half-open, as in a circuit breaker) rather than after another full run.

export interface UpstreamHealthOptions {
  /** Consecutive timed-out attempts after which the upstream counts as degraded. */
  degradedAfterTimeouts: number;
  /** How long after the last timeout the degraded state lapses. */
  recoverAfterMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

const DEFAULT_RECOVER_AFTER_MS = 30_000;

export class UpstreamHealth {
  readonly #threshold: number;
  readonly #recoverAfterMs: number;
  readonly #now: () => number;
  #consecutiveTimeouts = 0;
  #lastTimeoutAt = Number.NEGATIVE_INFINITY;

  constructor(options: UpstreamHealthOptions) {
    this.#threshold = Math.max(1, options.degradedAfterTimeouts);
    this.#recoverAfterMs = options.recoverAfterMs ?? DEFAULT_RECOVER_AFTER_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** An attempt got no answer in time (our own timeout or the call's deadline). */
  recordTimeout(): void {
    this.#consecutiveTimeouts += 1;
    this.#lastTimeoutAt = this.#now();
  }

  /** An attempt got a complete HTTP answer, whatever its status. */
  recordAnswer(): void {
    this.#consecutiveTimeouts = 0;
  }

  get consecutiveTimeouts(): number {
    return this.#consecutiveTimeouts;
  }

  isDegraded(): boolean {
    return this.#consecutiveTimeouts >= this.#threshold && this.#now() - this.#lastTimeoutAt < this.#recoverAfterMs;
  }
}
