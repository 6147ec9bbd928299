// Failures of the upstream API as classes with stable codes (the openai-node layout): callers switch
// on the class or `code`, never on message text. Messages are ours and safe to show a client; the
// raw upstream body is kept only in `detail`, for operators' logs.

/** The `extensions.code` a GraphQL client sees for each failure family. */
export type UpstreamErrorCode =
  | 'UPSTREAM_AUTH_FAILED'
  | 'RATE_LIMITED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE';

/** The userErrors code for an upstream 400 that concerns the caller's input. */
export type UpstreamInputErrorCode = 'INVALID_INPUT' | 'IMAGE_REJECTED' | 'CONTENT_REFUSED' | 'INSUFFICIENT_BALANCE';

interface UpstreamErrorOptions {
  status?: number | undefined;
  reason?: string | undefined;
  /** Whether a retry of an idempotent read may succeed. */
  retryable?: boolean;
  /** The request provably never left this process (e.g. connection refused): safe to retry even a create. */
  neverSent?: boolean;
  /** Operator-only context (e.g. the first bytes of an odd body). Never sent to clients. */
  detail?: string | undefined;
  cause?: unknown;
}

export abstract class UpstreamError extends Error {
  abstract readonly code: UpstreamErrorCode | UpstreamInputErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryable: boolean;
  readonly neverSent: boolean;
  readonly detail: string | undefined;

  constructor(message: string, options: UpstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    this.reason = options.reason;
    this.retryable = options.retryable ?? false;
    this.neverSent = options.neverSent ?? false;
    this.detail = options.detail;
  }
}

export class UpstreamAuthError extends UpstreamError {
  readonly code = 'UPSTREAM_AUTH_FAILED';
}

export class UpstreamRateLimitError extends UpstreamError {
  readonly code = 'RATE_LIMITED';
  /** Seconds the upstream asked us to wait, when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, retryAfterSeconds: number | undefined, options: UpstreamErrorOptions = {}) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  readonly code = 'UPSTREAM_TIMEOUT';
}

export class UpstreamUnavailableError extends UpstreamError {
  readonly code = 'UPSTREAM_UNAVAILABLE';
}

export class UpstreamBadResponseError extends UpstreamError {
  readonly code = 'UPSTREAM_BAD_RESPONSE';
}

/** An upstream 400 about the request's content: shown to the caller as a userError, not a failure. */
export class UpstreamInputRejectedError extends UpstreamError {
  readonly code: UpstreamInputErrorCode;

  constructor(code: UpstreamInputErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    super(message, options);
    this.code = code;
  }
}

const inputReasons: Record<string, { code: UpstreamInputErrorCode; message: string }> = {
  INVALID_REQUEST_BODY: { code: 'INVALID_INPUT', message: 'The video service rejected the request as invalid.' },
  INVALID_IMAGE_FORMAT: { code: 'IMAGE_REJECTED', message: 'The video service rejected a reference image: unsupported format.' },
  IMAGE_FILE_EXCEEDS_MAX_SIZE: { code: 'IMAGE_REJECTED', message: 'The video service rejected a reference image: file too large.' },
  INVALID_IMAGE_SIZE: { code: 'IMAGE_REJECTED', message: 'The video service rejected a reference image: dimensions or aspect ratio out of range.' },
  ILLEGAL_PROMPT: { code: 'CONTENT_REFUSED', message: 'The video service refused the prompt (content moderation).' },
  ILLEGAL_IMAGE_CONTENT: { code: 'CONTENT_REFUSED', message: 'The video service refused a reference image (content moderation).' },
  BILLING_BALANCE_NOT_ENOUGH: { code: 'INSUFFICIENT_BALANCE', message: 'The video service account does not have enough credit.' },
};

export interface ErrorResponse {
  status: number;
  /** `reason` from the upstream's JSON error body, when the body was one. */
  reason: string | undefined;
  /** Seconds from a `Retry-After` header, when present and parseable. */
  retryAfterSeconds: number | undefined;
  /** Operator-only excerpt of the body. */
  detail: string | undefined;
}

/** The one factory from a non-2xx upstream answer to an error class. */
export function errorFromResponse(response: ErrorResponse): UpstreamError {
  const { status, reason, detail } = response;
  const common = { status, reason, detail };

  if (status === 401 || status === 403 || reason === 'MISSING_API_KEY' || reason === 'INVALID_API_KEY') {
    return new UpstreamAuthError('The video service rejected the gateway credentials.', common);
  }
  if (status === 429 || reason === 'RATE_LIMIT_EXCEEDED') {
    return new UpstreamRateLimitError('The video service is rate limiting requests.', response.retryAfterSeconds, {
      ...common,
      retryable: true,
    });
  }
  if (status === 400 && reason !== undefined) {
    const input = inputReasons[reason];
    if (input) return new UpstreamInputRejectedError(input.code, input.message, common);
  }
  if (status === 408) {
    return new UpstreamTimeoutError('The video service timed out.', { ...common, retryable: true });
  }
  if (status >= 500) {
    // 502/503/504 come from proxies in front of a busy or restarting service: worth a retry.
    // A plain 500 (CREATE_TASK_FAILED, GET_RESULT_FAILED) is the service's own answer.
    const retryable = status === 502 || status === 503 || status === 504;
    return new UpstreamUnavailableError('The video service is unavailable.', { ...common, retryable });
  }
  return new UpstreamBadResponseError(`The video service answered with unexpected HTTP status ${status}.`, common);
}
