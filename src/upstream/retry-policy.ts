// The one retry policy for upstream calls: exponential backoff with jitter (p-retry), a Retry-After
// waited out up to a cap (and never past the call's deadline), and only errors that say a retry may help.
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { UpstreamError, UpstreamRateLimitError } from './errors.js';

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this ends the call at once instead of waiting. */
  retryAfterCapMs: number;
}

export interface RetryHooks {
  /** Extra condition on top of `error.retryable` (e.g. "the create never left this process"). */
  mayRetry?: (error: UpstreamError) => boolean;
  onRetry?: (error: UpstreamError, attempt: number) => void;
  /**
   * Milliseconds left before the call's deadline. A Retry-After at least this long ends the call at
   * once with the rate-limit error: waiting would only end in a timeout, which says less.
   */
  remainingMs?: () => number;
}

export async function withRetries<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  hooks: RetryHooks = {},
): Promise<T> {
  return pRetry(attempt, {
    retries: policy.retries,
    minTimeout: policy.baseDelayMs,
    maxTimeout: policy.maxDelayMs,
    factor: 2,
    randomize: true,
    ...(signal ? { signal } : {}),
    shouldRetry: async ({ error, attemptNumber }) => {
      if (!(error instanceof UpstreamError) || !error.retryable) return false;
      if (hooks.mayRetry && !hooks.mayRetry(error)) return false;
      if (error instanceof UpstreamRateLimitError && error.retryAfterSeconds !== undefined) {
        const waitMs = error.retryAfterSeconds * 1000;
        if (waitMs > policy.retryAfterCapMs) return false;
        if (hooks.remainingMs !== undefined && waitMs >= hooks.remainingMs()) return false;
        // p-retry adds its own (small) backoff after this; waiting a little longer than asked is fine.
        await sleep(waitMs, undefined, signal ? { signal } : undefined);
      }
      hooks.onRetry?.(error, attemptNumber);
      return true;
    },
  });
}
