// One deadline for a whole upstream call (every attempt, backoff and Retry-After wait), merged with
// the caller's AbortSignal. The two must stay distinguishable: a caller that leaves is an abort
// that propagates as it is, the deadline is an upstream timeout. (Per-attempt undici timeouts are
// checked on a ~1 s timer and apply per attempt; this one is exact and spans the call.)

export class CallDeadline {
  /** Aborted when the caller aborts or the deadline passes, whichever comes first. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #endsAt: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #callerSignal: AbortSignal | undefined;
  readonly #onCallerAbort: () => void;
  #expired = false;

  constructor(ms: number, callerSignal?: AbortSignal) {
    this.signal = this.#controller.signal;
    this.#endsAt = performance.now() + ms;
    this.#callerSignal = callerSignal;
    this.#onCallerAbort = () => this.#controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) {
      this.#controller.abort(callerSignal.reason);
      return;
    }
    // A listener removed in dispose() rather than AbortSignal.any: a long-lived caller signal
    // (e.g. a subscription's) must not collect one dependent signal per call.
    callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.#timer = setTimeout(() => {
      if (this.signal.aborted) return;
      this.#expired = true;
      this.#controller.abort(new DOMException(`upstream call deadline of ${ms} ms passed`, 'TimeoutError'));
    }, ms);
  }

  /** True when the deadline, not the caller, ended the call. */
  get expired(): boolean {
    return this.#expired;
  }

  /** Milliseconds left before the deadline (0 once passed). */
  remainingMs(): number {
    return Math.max(0, this.#endsAt - performance.now());
  }

  /** Stops the timer and lets go of the caller's signal; call once the call has settled. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort);
  }
}
