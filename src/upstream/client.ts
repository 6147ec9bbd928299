// The one client for the upstream REST API: a keep-alive undici Pool per origin, explicit
// timeouts on every attempt and one deadline over each whole call, the caller's AbortSignal
// honoured, answers checked before they are believed, and failures turned into error classes with
// stable codes. The API key lives only in this object and the Authorization header; every body
// excerpt it keeps or logs is scrubbed of it.
import { errorCodeOf } from '../error-details.js';
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../config.js';
import {
  errorFromResponse,
  UpstreamBadResponseError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './errors.js';
import { CallDeadline } from './call-deadline.js';
import { withRetries, type RetryPolicy } from './retry-policy.js';
import { SecretScrubber } from './scrub.js';
import { toTaskSnapshot, type RefusedVideoUrl, type TaskSnapshot } from './task-snapshot.js';
import { UpstreamHealth } from './upstream-health.js';
import { createTaskResponseSchema, errorBodySchema, taskResultSchema, type TaskResult } from './wire.js';
import { parseRetryAfter } from './retry-after.js';
import type { UpstreamEndpoint, UpstreamObserver } from '../metrics.js';

export const CREATE_PATH = '/v3/async/vidu-q2-reference2video';
const TASK_RESULT_PATH = '/v3/async/task-result';

export interface CreatedTask {
  taskId: string;
  providerRequestId: string | null;
}

interface RawResponse {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  text: string;
}

/** Socket errors that happen before a request can have been sent: a create may be retried after them. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** How much of an odd body an error `detail` keeps (operators' logs only, scrubbed). */
const ERROR_DETAIL_CHARS = 500;
const BAD_RESPONSE_EXCERPT_CHARS = 200;
/** Ids quoted in a detail are cut to this: the upstream's answer could be anything. */
const QUOTED_ID_CHARS = 100;

export interface UpstreamClientOptions {
  /**
   * Another origin whose plain-http video links are trusted: the gateway's own public origin, where the
   * embedded simulator's videos are served. A function, because with PORT=0 it is known only once the
   * gateway listens. Never set for a real upstream, whose links are https or on its own origin.
   */
  selfServedVideoOrigin?: () => string;
}

export class UpstreamClient {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #authorization: string;
  readonly #config: UpstreamConfig;
  readonly #retryPolicy: RetryPolicy;
  readonly #logger: Logger;
  readonly #observer: UpstreamObserver | undefined;
  readonly #scrubber: SecretScrubber;
  readonly #health: UpstreamHealth;
  /** Plain-http video links are trusted only from here, and from `selfServedVideoOrigin`. */
  readonly #upstreamOrigin: string;
  readonly #selfServedVideoOrigin: (() => string) | undefined;

  constructor(config: UpstreamConfig & { apiKey: string }, logger: Logger, observer?: UpstreamObserver, options: UpstreamClientOptions = {}) {
    const base = new URL(config.baseUrl);
    this.#pool = new Pool(base.origin, {
      connections: config.maxConnections,
      connect: { timeout: config.connectTimeoutMs },
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#upstreamOrigin = base.origin;
    this.#selfServedVideoOrigin = options.selfServedVideoOrigin;
    this.#authorization = `Bearer ${config.apiKey}`;
    this.#scrubber = new SecretScrubber([config.apiKey]);
    this.#health = new UpstreamHealth({ degradedAfterTimeouts: config.degradedAfterTimeouts });
    this.#config = config;
    this.#retryPolicy = {
      retries: config.readRetries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
      retryAfterCapMs: config.retryAfterCapMs,
    };
    this.#logger = logger.child({ component: 'upstream' });
    this.#observer = observer;
  }

  /**
   * Starts a billed job. Retried only when the request provably never left this process
   * (connection refused, DNS, connect timeout): anything later could create a second video.
   */
  async createTask(body: Buffer, signal?: AbortSignal): Promise<CreatedTask> {
    return this.#withinDeadline('create', signal, async (deadline) => {
      const response = await withRetries(
        () => this.#send('POST', CREATE_PATH, body, deadline, 'create'),
        this.#retryPolicy,
        deadline.signal,
        {
          mayRetry: (error) => error.neverSent,
          onRetry: (error, attempt) => this.#onRetry('create', error, attempt),
          remainingMs: () => deadline.remainingMs(),
        },
      );
      const parsed = createTaskResponseSchema.safeParse(this.#parseJson(response, 'create'));
      if (!parsed.success) throw this.#badResponse('create', 'create response has no task_id', response.text);
      return { taskId: parsed.data.task_id, providerRequestId: parsed.data.provider_request_id ?? null };
    });
  }

  /** Reads a task; `null` when the upstream says it does not exist. Idempotent, so retried. */
  async getTask(taskId: string, signal?: AbortSignal): Promise<TaskSnapshot | null> {
    const path = `${TASK_RESULT_PATH}?task_id=${encodeURIComponent(taskId)}`;
    return this.#withinDeadline('task-result', signal, async (deadline) => {
      const response = await withRetries(
        () => this.#send('GET', path, undefined, deadline, 'task-result', [404]),
        this.#retryPolicy,
        deadline.signal,
        { onRetry: (error, attempt) => this.#onRetry('task-result', error, attempt), remainingMs: () => deadline.remainingMs() },
      );
      if (response.status === 404) {
        const reason = this.#errorReason(response.text);
        if (reason === 'TASK_NOT_FOUND') return null;
        // A 404 without the upstream's reason is a wrong base URL or a proxy, not a missing task.
        throw errorFromResponse({
          status: 404,
          reason,
          retryAfterSeconds: undefined,
          detail: this.#scrubber.excerpt(response.text, ERROR_DETAIL_CHARS),
        });
      }
      const parsed = taskResultSchema.safeParse(this.#parseJson(response, 'task-result'));
      if (!parsed.success) throw this.#badResponse('task-result', 'task-result response lacks task fields', response.text);
      return this.#toSnapshot(taskId, parsed.data, response.text);
    });
  }

  /**
   * True after `degradedAfterTimeouts` consecutive timed-out attempts (any endpoint), until an
   * answer arrives or 30 s pass without a timeout. For readiness: this replica cannot reach the upstream.
   */
  isDegraded(): boolean {
    return this.#health.isDegraded();
  }

  /**
   * Lets calls in flight finish for up to `graceMs`, then drops them. Returns whether any had to be
   * dropped. (Pool.close alone would wait for a slow upstream as long as the timeouts allow.)
   */
  async close(graceMs = 0): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const closed = this.#pool.close().then(() => true);
    const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
    const inTime = await Promise.race([closed, expired]);
    clearTimeout(timer);
    if (!inTime) await this.#pool.destroy();
    return !inTime;
  }

  /**
   * Runs one call under the deadline. A call the deadline ended is an UpstreamTimeoutError; a caller's
   * abort goes on as the abort it is.
   */
  async #withinDeadline<T>(endpoint: UpstreamEndpoint, signal: AbortSignal | undefined, call: (deadline: CallDeadline) => Promise<T>): Promise<T> {
    const deadlineMs = this.#config.deadlineMs;
    const deadline = new CallDeadline(deadlineMs, signal);
    try {
      return await call(deadline);
    } catch (error) {
      if (!deadline.expired) throw error;
      const detail = `no usable answer within the call deadline of ${deadlineMs} ms (attempts and waits included)`;
      this.#logger.warn({ endpoint, code: 'UPSTREAM_TIMEOUT', deadlineMs }, 'upstream call deadline passed');
      throw new UpstreamTimeoutError('The video service did not answer in time.', { detail, cause: error });
    } finally {
      deadline.dispose();
    }
  }

  /** Checks a parsed task-result against what was asked, and maps it. */
  #toSnapshot(taskId: string, result: TaskResult, text: string): TaskSnapshot {
    if (result.task.task_id !== taskId) {
      // A proxy or cache mixing up answers would otherwise show one task's videos under another id.
      const quoted = (id: string) => JSON.stringify(this.#scrubber.excerpt(id, QUOTED_ID_CHARS));
      throw this.#badResponse('task-result', `answer is for task ${quoted(result.task.task_id)}, not ${quoted(taskId)}`, text);
    }
    let refusedUrls = 0;
    const snapshot = toTaskSnapshot(result, new Date(), {
      trustedOrigins: this.#selfServedVideoOrigin ? [this.#upstreamOrigin, this.#selfServedVideoOrigin()] : [this.#upstreamOrigin],
      onRefusedVideoUrl: (refused: RefusedVideoUrl) => {
        refusedUrls += 1;
        // Scheme and host only: the rest of a signed URL carries tokens.
        this.#logger.warn(
          { endpoint: 'task-result', taskId, scheme: refused.scheme, host: refused.host, why: refused.why },
          'dropped an unsafe video URL from the upstream',
        );
      },
    });
    if (snapshot.status === 'SUCCEEDED' && snapshot.videos.length === 0) {
      // Served as is, this would be a finished task with nothing to download, and cached as final.
      const what =
        refusedUrls > 0
          ? 'succeeded task whose every video URL was refused'
          : 'succeeded task without a usable videos array (missing, not an array, empty or without URLs)';
      throw this.#badResponse('task-result', what, text);
    }
    return snapshot;
  }

  /** One attempt. Resolves with 2xx answers and the `passStatuses`; throws UpstreamError otherwise. */
  async #send(
    method: 'GET' | 'POST',
    path: string,
    body: string | Buffer | undefined,
    deadline: CallDeadline,
    endpoint: UpstreamEndpoint,
    passStatuses: number[] = [],
  ): Promise<RawResponse> {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#pool.request({
        method,
        path: `${this.#basePath}${path}`,
        headers: {
          authorization: this.#authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body,
        signal: deadline.signal,
      });
    } catch (error) {
      throw this.#transportError(error, endpoint, deadline, false, elapsed());
    }

    let text: string;
    try {
      text = await this.#readCapped(response.body);
    } catch (error) {
      if (error instanceof UpstreamError) {
        // An oversized body is still an answer: the upstream is there.
        this.#health.recordAnswer();
        throw error;
      }
      throw this.#transportError(error, endpoint, deadline, true, elapsed());
    }

    const { statusCode: status } = response;
    this.#health.recordAnswer();
    this.#observer?.onAttempt(endpoint, status, elapsed());
    if ((status >= 200 && status < 300) || passStatuses.includes(status)) {
      return { status, headers: response.headers, text };
    }
    const error = errorFromResponse({
      status,
      reason: this.#errorReason(text),
      retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
      detail: this.#scrubber.excerpt(text, ERROR_DETAIL_CHARS),
    });
    this.#logger.warn({ endpoint, status, reason: error.reason, code: error.code }, 'upstream answered with an error');
    throw error;
  }

  async #readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > this.#config.maxResponseBytes) {
        body.destroy();
        throw new UpstreamBadResponseError('The video service sent an oversized response.', {
          detail: `response exceeded ${this.#config.maxResponseBytes} bytes`,
        });
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #transportError(error: unknown, endpoint: UpstreamEndpoint, deadline: CallDeadline, afterHeaders: boolean, seconds: number): unknown {
    if (deadline.signal.aborted) {
      // The call's deadline cut this attempt: a timed-out attempt. #withinDeadline makes it the error.
      if (deadline.expired) {
        this.#observer?.onAttempt(endpoint, 'timeout', seconds);
        this.#health.recordTimeout();
      }
      // Otherwise the caller went away: not an upstream failure, let the abort propagate as it is.
      return error;
    }
    if (error instanceof undiciErrors.RequestAbortedError || (error instanceof Error && error.name === 'AbortError')) {
      return error;
    }
    const code = errorCodeOf(error);
    const timedOut = code !== undefined && TIMEOUT_CODES.has(code);
    this.#observer?.onAttempt(endpoint, timedOut ? 'timeout' : 'network', seconds);
    // A refused or reset connection says nothing either way about a slow upstream: it neither
    // counts towards nor ends a run of timeouts.
    if (timedOut) this.#health.recordTimeout();
    const detail = this.#scrubber.scrub(`${code ?? 'no code'}: ${error instanceof Error ? error.message : String(error)}`);
    const options = {
      retryable: true,
      neverSent: !afterHeaders && code !== undefined && NOT_SENT_CODES.has(code),
      detail,
      cause: error,
    };
    const mapped = timedOut
      ? new UpstreamTimeoutError('The video service did not answer in time.', options)
      : new UpstreamUnavailableError('The video service could not be reached.', options);
    this.#logger.warn({ endpoint, code: mapped.code, detail }, 'upstream call failed');
    return mapped;
  }

  #parseJson(response: RawResponse, endpoint: UpstreamEndpoint): unknown {
    try {
      return JSON.parse(response.text);
    } catch {
      throw this.#badResponse(endpoint, 'response is not JSON', response.text);
    }
  }

  #errorReason(text: string): string | undefined {
    try {
      const parsed = errorBodySchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data.reason : undefined;
    } catch {
      return undefined;
    }
  }

  #badResponse(endpoint: UpstreamEndpoint, what: string, text: string): UpstreamBadResponseError {
    const detail = `${what}; body starts: ${this.#scrubber.excerpt(text, BAD_RESPONSE_EXCERPT_CHARS)}`;
    this.#logger.warn({ endpoint, detail }, 'upstream sent a response we cannot use');
    return new UpstreamBadResponseError('The video service sent a response the gateway could not understand.', { detail });
  }

  /** Counts and logs a retry. */
  #onRetry(endpoint: UpstreamEndpoint, error: UpstreamError, attempt: number): void {
    this.#observer?.onRetry(endpoint);
    this.#logger.info({ endpoint, attempt, code: error.code, status: error.status }, 'retrying upstream call');
  }
}
