// The video store for many replicas: objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…).
// Serving proxies the object through the gateway (ranges, HEAD, conditional GETs), so clients only
// ever see signed gateway URLs, never the bucket.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { invalidVideoKeyError, isVideoKey, prepareScratchDirectory, type StoreRefusal, type VideoStore } from './video-store.js';

export interface S3VideoStoreOptions {
  bucket: string;
  /** Folder-like prefix inside the bucket; leading/trailing slashes are ignored, '' stores keys at the top. */
  prefix: string;
  /** For S3-compatible servers (MinIO…); omitted for AWS S3 itself. */
  endpoint?: string;
  region: string;
  /** `bucket` in the path rather than the host name: what most self-hosted S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Omitted: the SDK's default chain (environment, shared config, instance role…). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A local folder owned by this store: created at open, and everything in it is deleted then (leftovers of interrupted downloads). */
  scratchDirectory: string;
}

// DeleteObjects takes at most this many keys per request.
const DELETE_BATCH_SIZE = 1000;
// Each video being watched holds one S3 connection for as long as the client reads; the SDK's
// default pool (50) would make the 51st viewer, and every put and delete, wait behind them.
const MAX_S3_SOCKETS = 256;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens the store. The bucket is not created (operators make production buckets), only checked:
 * an unreachable or missing bucket rejects with a one-line Error naming it.
 */
export async function openS3VideoStore(options: S3VideoStoreOptions): Promise<VideoStore> {
  const { bucket } = options;
  const prefix = options.prefix.split('/').filter(Boolean).join('/');
  const objectKeyOf = (key: string): string => (prefix ? `${prefix}/${key}` : key);

  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    // Since 3.729 the SDK sends and checks CRC32 "flexible checksums" on every call by default;
    // S3-compatible servers (s3rver in our tests, older MinIO, several hosted ones) reject or
    // mangle those requests. Only send checksums where the S3 API itself requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      httpAgent: { keepAlive: true, maxSockets: MAX_S3_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_S3_SOCKETS },
    },
  });

  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    client.destroy();
    throw new Error(`S3 bucket "${bucket}" is not reachable (${describeFailure(error)})`);
  }
  await prepareScratchDirectory(options.scratchDirectory);

  // Learnt on first use: some S3-compatible servers lack DeleteObjects (or want Content-MD5 for it).
  let multiDeleteSupported = true;

  async function deleteOneByOne(objectKeys: readonly string[]): Promise<void> {
    for (const objectKey of objectKeys) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
      } catch (error) {
        // S3 answers 204 for a missing key; some compatible servers say 404 instead.
        if (statusOf(error) !== 404) throw error;
      }
    }
  }

  async function deleteBatch(objectKeys: readonly string[]): Promise<void> {
    if (!multiDeleteSupported) return deleteOneByOne(objectKeys);
    try {
      const result = await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objectKeys.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failures = result.Errors ?? [];
      if (failures.length > 0) {
        throw new Error(`S3 DeleteObjects failed for ${failures.length} of ${objectKeys.length} objects (first: ${failures[0]?.Code ?? 'unknown'})`);
      }
    } catch (error) {
      if (!isUnsupportedMultiDelete(error)) throw error;
      multiDeleteSupported = false;
      await deleteOneByOne(objectKeys);
    }
  }

  async function sizeOf(objectKey: string, abortSignal: AbortSignal): Promise<number> {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }), { abortSignal });
    return head.ContentLength ?? 0;
  }

  // Writes the answer, or returns what to refuse with. Throws only for failures of the store.
  async function answer(req: IncomingMessage, res: ServerResponse, objectKey: string, abortSignal: AbortSignal): Promise<StoreRefusal | undefined> {
    const wanted = readRangeHeader(req.headers.range);
    let range: string | undefined;
    if (wanted.kind === 'range') range = wanted.header;
    if (wanted.kind === 'suffix') {
      // Not every S3-compatible server understands `bytes=-N` (s3rver reads it as `bytes=0-N`):
      // turn it into an explicit range, at the cost of one HEAD for these rare requests.
      const size = await sizeOf(objectKey, abortSignal);
      if (wanted.length === 0 || size === 0) return unsatisfiable(size);
      range = `bytes=${Math.max(0, size - wanted.length)}-${size - 1}`;
    }
    const request = {
      Bucket: bucket,
      Key: objectKey,
      Range: range,
      IfNoneMatch: req.headers['if-none-match'],
      IfModifiedSince: httpDateOf(req.headers['if-modified-since']),
    };
    try {
      if (req.method === 'HEAD') {
        const head = await client.send(new HeadObjectCommand(request), { abortSignal });
        res.writeHead(head.ContentRange ? 206 : 200, objectHeaders(head));
        res.end();
        return undefined;
      }
      const object = await client.send(new GetObjectCommand(request), { abortSignal });
      const body = object.Body;
      if (!(body instanceof Readable)) throw new Error('S3 GetObject returned no readable body');
      res.writeHead(object.ContentRange ? 206 : 200, objectHeaders(object));
      await pipeline(body, res);
      return undefined;
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) {
        res.writeHead(304, notModifiedHeaders(error, request.IfNoneMatch));
        res.end();
        return undefined;
      }
      if (status === 404) return { status: 404, headers: {} };
      if (status === 416) return unsatisfiable(await sizeOf(objectKey, abortSignal));
      throw error;
    }
  }

  return {
    kind: 's3',
    scratchDirectory: options.scratchDirectory,

    async put(key, filePath, contentType) {
      if (!isVideoKey(key)) throw invalidVideoKeyError();
      const { size } = await stat(filePath);
      // The SDK does not retry a streamed body (it cannot rewind it): a failed put rejects and the caller retries.
      const body = createReadStream(filePath);
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKeyOf(key), Body: body, ContentLength: size, ContentType: contentType }));
      } finally {
        body.destroy();
      }
    },

    serve(req, res, key, onRefused) {
      if (!isVideoKey(key)) {
        onRefused({ status: 404, headers: {} });
        return;
      }
      const abort = new AbortController();
      // The client went away before the answer was complete: stop reading from S3 too.
      res.once('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      answer(req, res, objectKeyOf(key), abort.signal).then(
        (refusal) => {
          if (refusal && !abort.signal.aborted) onRefused(refusal);
        },
        (error: unknown) => {
          if (abort.signal.aborted) return;
          // Too late for a status once the headers are out: cut the response short.
          if (res.headersSent) res.destroy();
          // 404 here: the object vanished between two calls (the HEAD of a suffix range or of a 416).
          else onRefused({ status: statusOf(error) === 404 ? 404 : 500, headers: {} });
        },
      );
    },

    async delete(keys) {
      if (!keys.every(isVideoKey)) throw invalidVideoKeyError();
      const objectKeys = keys.map(objectKeyOf);
      for (let start = 0; start < objectKeys.length; start += DELETE_BATCH_SIZE) {
        await deleteBatch(objectKeys.slice(start, start + DELETE_BATCH_SIZE));
      }
    },

    async close() {
      client.destroy();
    },
  };
}

type RangeHeader = { kind: 'none' } | { kind: 'range'; header: string } | { kind: 'suffix'; length: number };

// One byte range, as `send` honours them for the folder store. Several ranges, or a malformed or
// backwards one, are ignored (the whole object, 200), which is what RFC 9110 asks of a server.
function readRangeHeader(header: string | undefined): RangeHeader {
  const match = header === undefined ? null : /^\s*bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!match) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') return { kind: 'suffix', length: Number(last) };
  if (last !== '' && Number(last) < Number(first)) return { kind: 'none' };
  return { kind: 'range', header: `bytes=${first}-${last}` };
}

function unsatisfiable(size: number): StoreRefusal {
  return { status: 416, headers: { 'Content-Range': `bytes */${size}` } };
}

function httpDateOf(header: string | undefined): Date | undefined {
  if (header === undefined) return undefined;
  const date = new Date(header);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

interface ObjectMetadata {
  ContentType?: string | undefined;
  ContentLength?: number | undefined;
  ContentRange?: string | undefined;
  ETag?: string | undefined;
  LastModified?: Date | undefined;
}

function objectHeaders(object: ObjectMetadata): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': object.ContentType ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
  };
  if (object.ContentLength !== undefined) headers['Content-Length'] = String(object.ContentLength);
  if (object.ContentRange) headers['Content-Range'] = object.ContentRange;
  if (object.ETag) headers.ETag = object.ETag;
  if (object.LastModified) headers['Last-Modified'] = object.LastModified.toUTCString();
  return headers;
}

// The SDK surfaces S3's 304 as an error; its raw response carries the validators (AWS sends them,
// s3rver does not). Without one, a single entity tag the client sent is the current one: it just matched.
function notModifiedHeaders(error: unknown, ifNoneMatch: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = rawResponseHeadersOf(error);
  if (typeof raw.etag === 'string') headers.ETag = raw.etag;
  else if (ifNoneMatch && /^(W\/)?"[^",]*"$/.test(ifNoneMatch.trim())) headers.ETag = ifNoneMatch.trim();
  if (typeof raw['last-modified'] === 'string') headers['Last-Modified'] = raw['last-modified'];
  return headers;
}

function rawResponseHeadersOf(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null || !('$response' in error)) return {};
  const response = error.$response;
  if (typeof response !== 'object' || response === null || !('headers' in response)) return {};
  const headers = response.headers;
  return typeof headers === 'object' && headers !== null ? { ...headers } : {};
}

// SDK service errors carry the HTTP status in `$metadata`; network failures carry none.
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function isUnsupportedMultiDelete(error: unknown): boolean {
  const status = statusOf(error);
  // 501 NotImplemented, 405 MethodNotAllowed, or 400 for a server that wants Content-MD5 where the
  // SDK now sends a CRC32: deleting key by key is slower but always understood.
  return status === 501 || status === 405 || status === 400;
}

// For the open-time error: the error's name/code and status only. SDK messages can quote request
// details, so none of their text goes into a message that ends up in logs.
function describeFailure(error: unknown): string {
  const status = statusOf(error);
  const name = typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name : 'Error';
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (status !== undefined) return `HTTP ${status} ${name}`;
  return code ?? name;
}
