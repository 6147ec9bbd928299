// The overall deadline of one query or mutation: all of its upstream calls, retries and waits
// included. A signal that fires with an UpstreamTimeoutError when the time is up, or with the
// request's own reason when the client leaves first; its timer is cleared as soon as the request's
// signal fires (the HTTP layer fires it once the answer is sent), so finished requests hold nothing.
import { UpstreamTimeoutError } from './upstream/errors.js';

export class OperationDeadlineError extends UpstreamTimeoutError {
  constructor(deadlineMs: number) {
    super(`The operation did not finish within its deadline (${deadlineMs} ms).`, { retryable: false });
  }
}

/** A signal that fires at `deadlineAt` (epoch ms) or when `base` fires, whichever comes first. */
export function deadlineSignal(base: AbortSignal | undefined, deadlineAt: number, deadlineMs: number): AbortSignal {
  const controller = new AbortController();
  if (base?.aborted) {
    controller.abort(base.reason);
    return controller.signal;
  }
  const timer = setTimeout(() => controller.abort(new OperationDeadlineError(deadlineMs)), Math.max(0, deadlineAt - Date.now()));
  // A deadline never keeps the process alive on its own.
  timer.unref();
  base?.addEventListener(
    'abort',
    () => {
      clearTimeout(timer);
      controller.abort(base.reason);
    },
    { once: true },
  );
  return controller.signal;
}
