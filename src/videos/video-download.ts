// Copies one video from a link the upstream handed out (a signed URL that expires in about an hour)
// into a local file, within bounds: http(s) only, never to a non-public address unless the origin is
// trusted by configuration (the upstream, the embedded simulator: both may live on loopback), a
// byte cap, one deadline over the whole download, redirects followed by hand and checked hop by hop,
// and a body that must really be an MP4 or a GIF. Failures are VideoDownloadErrors with stable codes;
// their messages name the link without its query string, which carries the signature.
import { errorCodeOf } from '../error-details.js';
import { isIP } from 'node:net';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { CallDeadline } from '../upstream/call-deadline.js';
import { ADDRESS_REFUSED_CODE, guardedLookup, isPublicAddress } from './download-address-guard.js';

export type DownloadedFormat = 'MP4' | 'GIF';

export interface DownloadLimits {
  /** The most bytes a body may have: a larger `content-length` or stream is TOO_LARGE. */
  maxBytes: number;
  /** The whole download (every hop's headers and the body) must finish within this. */
  timeoutMs: number;
  /** Redirects followed at most; 0 follows none. */
  maxRedirects: number;
}

export interface DownloadedVideo {
  bytes: number;
  format: DownloadedFormat;
  /** From the bytes themselves, not from the server's `content-type`. */
  contentType: 'video/mp4' | 'image/gif';
}

export type DownloadFailureCode = 'SCHEME_REFUSED' | 'ADDRESS_REFUSED' | 'TOO_LARGE' | 'TIMEOUT' | 'HTTP_STATUS' | 'NOT_VIDEO' | 'NETWORK' | 'ABORTED';

export class VideoDownloadError extends Error {
  readonly code: DownloadFailureCode;
  /** Whether trying again (perhaps with a fresh link for the same video) may succeed. */
  readonly retryable: boolean;
  /** The HTTP status, for HTTP_STATUS. */
  readonly status: number | undefined;

  /** `message` must never contain a query string: build it with `describeUrl`. */
  constructor(code: DownloadFailureCode, message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VideoDownloadError';
    this.code = code;
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

export interface VideoDownloader {
  /**
   * Downloads `url` into `destinationPath` (created/overwritten, fsynced before resolving). On any
   * failure the partial file is removed and a VideoDownloadError is thrown; the file is opened
   * only once a response has passed its status, type and length checks, so a failure before that
   * leaves whatever was at `destinationPath` alone. Failures of the local file itself (open, write,
   * fsync: ENOSPC, EACCES…) are thrown as they are: they say nothing about the link.
   */
  download(url: string, destinationPath: string, signal?: AbortSignal): Promise<DownloadedVideo>;
  /** Closes both connection pools; downloads still running finish first. */
  close(): Promise<void>;
}

export interface VideoDownloaderOptions {
  limits: DownloadLimits;
  /**
   * Origins (scheme://host[:port]) connected to whatever their address: the configured upstream and
   * the embedded simulator. Every other origin must resolve to public addresses only. A function is
   * asked at each download: the embedded simulator's origin is the gateway's, known once it listens.
   */
  trustedOrigins: readonly string[] | (() => readonly string[]);
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** Enough of the body to tell an MP4 (`ftyp` at bytes 4–7) from a GIF (`GIF87a`/`GIF89a`). */
const SNIFF_BYTES = 8;
/** A path in an error message is cut to this: it is for logs, and links can be long. */
const MAX_DESCRIBED_PATH_CHARS = 200;

/**
 * Retryable statuses. 5xx, 429 and 408 are the server's passing trouble. 403 and 404 are retryable
 * too, unlike other 4xx: a signed link that has expired answers 403, and a CDN that has not yet
 * received a fresh object answers 404, and in both cases the caller may succeed later with a fresh
 * link for the same task. Other 4xx (400, 401, 410…) say the link itself is wrong.
 */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408 || status === 403 || status === 404;
}

/** Scheme, host and path: never the query string or fragment, where signed links carry their tokens. */
export function describeUrl(url: URL): string {
  const path = url.pathname.length > MAX_DESCRIBED_PATH_CHARS ? `${url.pathname.slice(0, MAX_DESCRIBED_PATH_CHARS)}…` : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

/** Parses a link (the first, or a redirect's Location against the link that sent it). */
function parseDownloadUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    // Not echoed: whatever it is may still carry a token.
    throw new VideoDownloadError('SCHEME_REFUSED', base ? `redirect from ${describeUrl(base)} to something that is not a URL` : 'video link is not a URL', {
      retryable: false,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // Only the scheme: the rest of a data: or file: link is its content or a local path.
    throw new VideoDownloadError('SCHEME_REFUSED', `only http: and https: video links are downloaded, not ${url.protocol}`, { retryable: false });
  }
  return url;
}

/**
 * Which content types are clearly not a video: text, JSON/XML (error pages and API answers),
 * scripts, and media that are neither video nor GIF. A deny list rather than an allow list because
 * the magic bytes are the real check; storage services label videos oddly (`binary/octet-stream`,
 * `application/mp4`, none at all) and refusing those would fail real videos for no safety gained.
 */
function isClearlyNotVideo(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === '') return false;
  const [type = '', subtype = ''] = mediaType.split('/', 2);
  if (['text', 'audio', 'font', 'model', 'multipart', 'message'].includes(type)) return true;
  if (type === 'image') return subtype !== 'gif';
  if (type === 'application') {
    return (
      ['json', 'xml', 'javascript', 'ecmascript', 'xhtml+xml', 'pdf', 'x-www-form-urlencoded'].includes(subtype) ||
      subtype.endsWith('+json') ||
      subtype.endsWith('+xml')
    );
  }
  return false;
}

/** The format the first bytes announce, if any. */
function sniffFormat(head: Buffer): DownloadedFormat | undefined {
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return 'MP4';
  if (head.length >= 6) {
    const signature = head.toString('latin1', 0, 6);
    if (signature === 'GIF87a' || signature === 'GIF89a') return 'GIF';
  }
  return undefined;
}

function headerValue(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** True when the error, or one it wraps, is the guarded lookup's refusal. */
function isAddressRefusal(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (errorCodeOf(current) === ADDRESS_REFUSED_CODE) return true;
  }
  return false;
}

/**
 * Lets go of a body that will not be read (a redirect's, a refused answer's). undici's body emits
 * an abort error when destroyed unread; nobody is listening for it, so it is swallowed here rather
 * than left to crash the process as an uncaught 'error'.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCodeOf(error) !== 'ENOENT') throw error;
  }
}

class UndiciVideoDownloader implements VideoDownloader {
  readonly #limits: DownloadLimits;
  readonly #trustedOrigins: () => readonly string[];
  /** For every origin not trusted: its names resolve through the guarded lookup. */
  readonly #guardedAgent: Agent;
  /** For the trusted origins only, which may be on loopback. */
  readonly #trustedAgent: Agent;

  constructor(options: VideoDownloaderOptions) {
    const { maxBytes, timeoutMs, maxRedirects } = options.limits;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, not ${maxBytes}`);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be positive, not ${timeoutMs}`);
    if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) throw new RangeError(`maxRedirects must be a whole number, not ${maxRedirects}`);
    this.#limits = { ...options.limits };
    const trusted = options.trustedOrigins;
    this.#trustedOrigins = typeof trusted === 'function' ? trusted : () => trusted;
    this.#guardedAgent = new Agent({ connect: { lookup: guardedLookup } });
    this.#trustedAgent = new Agent();
  }

  async download(rawUrl: string, destinationPath: string, signal?: AbortSignal): Promise<DownloadedVideo> {
    const deadline = new CallDeadline(this.#limits.timeoutMs, signal);
    let file: FileHandle | undefined;
    let fileFailure: unknown;
    let current: URL | undefined;
    try {
      current = parseDownloadUrl(rawUrl);
      const response = await this.#requestFollowingRedirects(current, deadline, (hop) => (current = hop));
      const url = current;
      try {
        if (response.statusCode !== 200) {
          // 2xx other than 200 included: no range was asked for, so a 206 or 204 is not the video.
          throw new VideoDownloadError('HTTP_STATUS', `HTTP ${response.statusCode} from ${describeUrl(url)}`, {
            retryable: isRetryableStatus(response.statusCode),
            status: response.statusCode,
          });
        }
        const contentType = headerValue(response.headers, 'content-type');
        if (isClearlyNotVideo(contentType)) {
          throw new VideoDownloadError('NOT_VIDEO', `${describeUrl(url)} answered ${contentType?.split(';', 1)[0]?.slice(0, 100)}, not a video`, { retryable: false });
        }
        const declaredLength = headerValue(response.headers, 'content-length');
        if (declaredLength !== undefined && /^\d+$/.test(declaredLength) && Number(declaredLength) > this.#limits.maxBytes) {
          throw new VideoDownloadError('TOO_LARGE', `${describeUrl(url)} declares ${declaredLength} bytes, over the ${this.#limits.maxBytes}-byte cap`, {
            retryable: false,
          });
        }
      } catch (error) {
        discard(response.body);
        throw error;
      }

      try {
        file = await open(destinationPath, 'w');
      } catch (error) {
        discard(response.body);
        fileFailure = error;
        throw error;
      }
      const checked = { bytes: 0, format: undefined as DownloadedFormat | undefined };
      const sink = writeInto(file, (error) => (fileFailure = error));
      await pipeline(response.body, checkVideoBody(url, this.#limits.maxBytes, checked), sink, { signal: deadline.signal });
      try {
        await file.sync();
      } catch (error) {
        fileFailure = error;
        throw error;
      }
      // checkVideoBody throws rather than finish without a format; this keeps the type honest.
      const format = checked.format ?? 'MP4';
      return { bytes: checked.bytes, format, contentType: format === 'MP4' ? 'video/mp4' : 'image/gif' };
    } catch (error) {
      if (file) {
        await file.close().catch(() => undefined);
        file = undefined;
        await removeFile(destinationPath);
      }
      if (error === fileFailure) throw error;
      throw this.#classify(error, current, deadline);
    } finally {
      deadline.dispose();
      await file?.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#guardedAgent.close(), this.#trustedAgent.close()]);
  }

  /** GETs `url`, following redirects by hand; each hop is checked before anything connects to it. */
  async #requestFollowingRedirects(first: URL, deadline: CallDeadline, onHop: (url: URL) => void): Promise<Dispatcher.ResponseData> {
    let url = first;
    for (let redirects = 0; ; redirects++) {
      const agent = this.#agentFor(url);
      // undici opens a connection even for a request whose signal has already fired, so a caller
      // that has gone (or a deadline passed between hops) is honoured here, before any connect.
      deadline.signal.throwIfAborted();
      // Each hop's timeouts are what is left of the download's deadline (rounded up: undici wants > 0).
      const remaining = Math.max(1, Math.ceil(deadline.remainingMs()));
      const response = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: 'video/mp4, image/gif;q=0.9, */*;q=0.1' },
        signal: deadline.signal,
        headersTimeout: remaining,
        bodyTimeout: remaining,
      });
      if (!REDIRECT_STATUSES.has(response.statusCode)) return response;
      discard(response.body);
      const location = headerValue(response.headers, 'location');
      if (location === undefined || location === '') {
        throw new VideoDownloadError('HTTP_STATUS', `HTTP ${response.statusCode} without a Location from ${describeUrl(url)}`, {
          retryable: false,
          status: response.statusCode,
        });
      }
      if (redirects >= this.#limits.maxRedirects) {
        throw new VideoDownloadError('HTTP_STATUS', `more than ${this.#limits.maxRedirects} redirects, the last from ${describeUrl(url)}`, {
          retryable: false,
          status: response.statusCode,
        });
      }
      url = parseDownloadUrl(location, url);
      onHop(url);
    }
  }

  /** Compared normalised, so a configured 'http://127.0.0.1:4000/' matches the origin 'http://127.0.0.1:4000'. */
  #isTrusted(origin: string): boolean {
    return this.#trustedOrigins().some((trusted) => {
      try {
        return new URL(trusted).origin === origin;
      } catch {
        return false;
      }
    });
  }

  /**
   * The pool to connect through, once the address is allowed. A trusted origin connects wherever it
   * is. Any other host that is an IP literal is judged here, because Node's connect skips `lookup`
   * for literals; a name is judged by the guarded agent's lookup, at connect time.
   */
  #agentFor(url: URL): Agent {
    if (this.#isTrusted(url.origin)) return this.#trustedAgent;
    // The URL parser has already turned forms like 2130706433 or 0x7f.1 into dotted decimal.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (isIP(host) !== 0 && !isPublicAddress(host)) {
      throw new VideoDownloadError('ADDRESS_REFUSED', `refused to connect to ${describeUrl(url)}: ${host} is not a public address`, { retryable: false });
    }
    return this.#guardedAgent;
  }

  #classify(error: unknown, url: URL | undefined, deadline: CallDeadline): VideoDownloadError {
    if (error instanceof VideoDownloadError) return error;
    const where = url ? describeUrl(url) : 'the video link';
    // The deadline's signal fires for both the caller and the deadline; CallDeadline tells which.
    if (deadline.signal.aborted) {
      return deadline.expired
        ? new VideoDownloadError('TIMEOUT', `download of ${where} took longer than ${this.#limits.timeoutMs} ms`, { retryable: true, cause: error })
        : // Nothing was wrong with the link: whether to try again is the caller's decision.
          new VideoDownloadError('ABORTED', `download of ${where} was cancelled`, { retryable: true, cause: error });
    }
    if (isAddressRefusal(error)) {
      return new VideoDownloadError('ADDRESS_REFUSED', `refused to connect to ${where}: its name resolves to an address that is not public`, {
        retryable: false,
        cause: error,
      });
    }
    const code = errorCodeOf(error);
    if (code !== undefined && TIMEOUT_CODES.has(code)) {
      return new VideoDownloadError('TIMEOUT', `download of ${where} timed out (${code})`, { retryable: true, cause: error });
    }
    if (error instanceof undiciErrors.RequestAbortedError) {
      // Aborted without our signal having fired: only a destroyed body does that, i.e. a lost connection.
      return new VideoDownloadError('NETWORK', `download of ${where} was interrupted`, { retryable: true, cause: error });
    }
    // The cause's code, never its message: undici and Node messages are safe today, but a code is enough.
    return new VideoDownloadError('NETWORK', `network failure downloading ${where} (${code ?? 'no code'})`, { retryable: true, cause: error });
  }
}

/**
 * Passes the body through while counting it against the cap and checking its first bytes. Nothing
 * is written before the first SNIFF_BYTES have been judged.
 */
function checkVideoBody(url: URL, maxBytes: number, checked: { bytes: number; format: DownloadedFormat | undefined }) {
  const tooLarge = () => new VideoDownloadError('TOO_LARGE', `${describeUrl(url)} sent more than ${maxBytes} bytes`, { retryable: false });
  const notVideo = () => new VideoDownloadError('NOT_VIDEO', `${describeUrl(url)} did not send an MP4 or a GIF`, { retryable: false });
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let head = Buffer.alloc(0);
    for await (const chunk of source) {
      checked.bytes += chunk.length;
      if (checked.bytes > maxBytes) throw tooLarge();
      if (checked.format !== undefined) {
        yield chunk;
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.length < SNIFF_BYTES) continue;
      checked.format = sniffFormat(head);
      if (checked.format === undefined) throw notVideo();
      yield head;
    }
    if (checked.format === undefined) {
      // A body shorter than SNIFF_BYTES: not a video either way, but judged on what there is.
      checked.format = sniffFormat(head);
      if (checked.format === undefined) throw notVideo();
      yield head;
    }
  };
}

/**
 * The end of the pipeline: writes every chunk to the open file. Its own failures are reported to
 * `onFileFailure` first, so they are told apart from the body's (a file stream would also be
 * destroyed, and emit, with the body's error when the body fails).
 */
function writeInto(file: FileHandle, onFileFailure: (error: unknown) => void) {
  return async function (source: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of source) {
      try {
        for (let offset = 0; offset < chunk.length; ) {
          const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
      } catch (error) {
        onFileFailure(error);
        throw error;
      }
    }
  };
}

export function createVideoDownloader(options: VideoDownloaderOptions): VideoDownloader {
  return new UndiciVideoDownloader(options);
}
