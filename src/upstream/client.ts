// The one client for the upstream REST API: a keep-alive undici Pool per origin, explicit
// timeouts on every call, the caller's AbortSignal honoured, and failures turned into error
// classes with stable codes. The API key lives only in this object and the Authorization header.
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
import { withRetries, type RetryPolicy } from './retry-policy.js';
import { toTaskSnapshot, type TaskSnapshot } from './task-snapshot.js';
import { createTaskResponseSchema, errorBodySchema, taskResultSchema, type CreateTaskBody } from './wire.js';
import { parseRetryAfter } from './retry-after.js';
import type { UpstreamEndpoint, UpstreamObserver } from '../metrics.js';

export const CREATE_PATH = '/v3/async/vidu-q2-reference2video';
export const TASK_RESULT_PATH = '/v3/async/task-result';

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

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class UpstreamClient {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #authorization: string;
  readonly #config: UpstreamConfig;
  readonly #retryPolicy: RetryPolicy;
  readonly #logger: Logger;
  readonly #observer: UpstreamObserver | undefined;

  constructor(config: UpstreamConfig & { apiKey: string }, logger: Logger, observer?: UpstreamObserver) {
    const base = new URL(config.baseUrl);
    this.#pool = new Pool(base.origin, {
      connections: config.maxConnections,
      connect: { timeout: config.connectTimeoutMs },
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#authorization = `Bearer ${config.apiKey}`;
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
  async createTask(body: CreateTaskBody, signal?: AbortSignal): Promise<CreatedTask> {
    const response = await withRetries(
      () => this.#send('POST', CREATE_PATH, JSON.stringify(body), signal, 'create'),
      this.#retryPolicy,
      signal,
      { mayRetry: (error) => error.neverSent, onRetry: (error, attempt) => this.#onRetry('create', error, attempt) },
    );
    const json = this.#parseJson(response, 'create');
    const parsed = createTaskResponseSchema.safeParse(json);
    if (!parsed.success) throw this.#badResponse('create', 'create response has no task_id', response.text);
    return { taskId: parsed.data.task_id, providerRequestId: parsed.data.provider_request_id ?? null };
  }

  /** Reads a task; `null` when the upstream says it does not exist. Idempotent, so retried. */
  async getTask(taskId: string, signal?: AbortSignal): Promise<TaskSnapshot | null> {
    const path = `${TASK_RESULT_PATH}?task_id=${encodeURIComponent(taskId)}`;
    const response = await withRetries(
      () => this.#send('GET', path, undefined, signal, 'task-result', [404]),
      this.#retryPolicy,
      signal,
      { onRetry: (error, attempt) => this.#onRetry('task-result', error, attempt) },
    );
    if (response.status === 404) {
      const reason = this.#errorReason(response.text);
      if (reason === 'TASK_NOT_FOUND') return null;
      // A 404 without the upstream's reason is a wrong base URL or a proxy, not a missing task.
      throw errorFromResponse({ status: 404, reason, retryAfterSeconds: undefined, detail: response.text.slice(0, 500) });
    }
    const parsed = taskResultSchema.safeParse(this.#parseJson(response, 'task-result'));
    if (!parsed.success) throw this.#badResponse('task-result', 'task-result response lacks task fields', response.text);
    return toTaskSnapshot(parsed.data, new Date());
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

  /** One attempt. Resolves with 2xx answers and the `passStatuses`; throws UpstreamError otherwise. */
  async #send(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
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
        signal,
      });
    } catch (error) {
      throw this.#transportError(error, endpoint, false, elapsed());
    }

    let text: string;
    try {
      text = await this.#readCapped(response.body);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw this.#transportError(error, endpoint, true, elapsed());
    }

    const { statusCode: status } = response;
    this.#observer?.onAttempt(endpoint, status, elapsed());
    if ((status >= 200 && status < 300) || passStatuses.includes(status)) {
      return { status, headers: response.headers, text };
    }
    const error = errorFromResponse({
      status,
      reason: this.#errorReason(text),
      retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
      detail: text.slice(0, 500),
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

  #transportError(error: unknown, endpoint: UpstreamEndpoint, afterHeaders: boolean, seconds: number): unknown {
    // The caller went away: not an upstream failure, let the abort propagate as it is.
    if (error instanceof undiciErrors.RequestAbortedError || (error instanceof Error && error.name === 'AbortError')) {
      return error;
    }
    const code = errorCode(error);
    this.#observer?.onAttempt(endpoint, code !== undefined && TIMEOUT_CODES.has(code) ? 'timeout' : 'network', seconds);
    const detail = `${code ?? 'no code'}: ${error instanceof Error ? error.message : String(error)}`;
    const options = {
      retryable: true,
      neverSent: !afterHeaders && code !== undefined && NOT_SENT_CODES.has(code),
      detail,
      cause: error,
    };
    const mapped =
      code !== undefined && TIMEOUT_CODES.has(code)
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
    const detail = `${what}; body starts: ${text.slice(0, 200)}`;
    this.#logger.warn({ endpoint, detail }, 'upstream sent a response we cannot use');
    return new UpstreamBadResponseError('The video service sent a response the gateway could not understand.', { detail });
  }

  /** Counts and logs a retry. */
  #onRetry(endpoint: UpstreamEndpoint, error: UpstreamError, attempt: number): void {
    this.#observer?.onRetry(endpoint);
    this.#logger.info({ endpoint, attempt, code: error.code, status: error.status }, 'retrying upstream call');
  }
}
