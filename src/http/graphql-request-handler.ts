// The node:http handler in front of Yoga. A POSTed query whose exact response is cached is answered
// here, before Yoga builds a fetch Request, parses, validates or executes anything: that is what
// makes cached reads several times faster than the framework floor. Everything else goes to Yoga.
//
// Not a side door: whatever must apply to every request (authentication and tenant scoping, limits,
// request ids, metrics) belongs in this handler before the cache lookup, or in the cache key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientKeyring } from '../auth/client-keys.js';
import type { GatewayMetrics } from '../metrics.js';
import { requestIdFrom, requestScope } from '../request-scope.js';
import type { CachedResponses, ResponseCacheSlot } from './cached-responses.js';
import type { GatewayYoga } from '../yoga.js';

export interface GraphQLRequestHandlerOptions {
  yoga: GatewayYoga;
  /** Undefined: no response cache, every request goes to Yoga as it is. */
  responses: CachedResponses | undefined;
  maxBodyBytes: number;
  /** Undefined: an open gateway (no client keys). */
  keyring: ClientKeyring | undefined;
  metrics: GatewayMetrics;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Origins allowed by CORS (undefined: any), so a browser can read the errors answered here. */
  corsOrigins: string[] | undefined;
}

const METRICS_PATH = '/metrics';

function sameSecret(presented: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(`Bearer ${expected}`));
}

type BodyRead = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

// Past the limit the rest of a streamed body is read and dropped, so the client gets its 413
// rather than a reset; a client that keeps sending far beyond is cut off.
const DISCARD_FACTOR = 4;

function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        resolve({ kind: 'too-large' });
        if (size > DISCARD_FACTOR * maxBytes) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve({ kind: 'ok', body: Buffer.concat(chunks, size) }));
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('close', () => resolve({ kind: 'aborted' }));
  });
}

function writeJsonError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Everything the response depends on besides the body: the tenant, content negotiation and CORS. */
function cacheKey(req: IncomingMessage, tenant: string | null, body: Buffer): string {
  return createHash('sha256')
    .update(`${tenant ?? ''}\u0000${req.headers.accept ?? ''}\u0000${req.headers.origin ?? ''}\u0000`)
    .update(body)
    .digest('base64url');
}

/**
 * CORS headers for answers written here rather than by Yoga: without them a browser on another
 * origin would see a 401 or 413 as an opaque network error.
 */
function corsHeaders(req: IncomingMessage, allowed: string[] | undefined): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined || (allowed !== undefined && !allowed.includes(origin))) return {};
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

/** The GraphiQL page itself holds nothing secret; every operation it sends needs a key. */
function isGraphiqlPage(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: GatewayMetrics, token: string | undefined): Promise<void> {
  if (token !== undefined && !sameSecret(req.headers.authorization, token)) {
    return writeJsonError(res, 401, 'UNAUTHENTICATED', 'The metrics token is required: Authorization: Bearer <token>.');
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createGraphQLRequestHandler({ yoga, responses, maxBodyBytes, keyring, metrics, metricsToken, corsOrigins }: GraphQLRequestHandlerOptions) {
  const graphqlPath = yoga.graphqlEndpoint;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === METRICS_PATH && req.method === 'GET') return serveMetrics(req, res, metrics, metricsToken);
    // Health, readiness and the like answer without a client key.
    if (path !== graphqlPath) {
      await yoga(req, res);
      return;
    }
    let tenant: string | null = null;
    if (keyring && req.method !== 'OPTIONS' && !isGraphiqlPage(req)) {
      const found = keyring.tenantForAuthorization(req.headers.authorization);
      if (found === undefined) {
        return writeJsonError(res, 401, 'UNAUTHENTICATED', 'A valid client key is required: Authorization: Bearer <key>.', {
          'www-authenticate': 'Bearer',
          ...corsHeaders(req, corsOrigins),
        });
      }
      tenant = found;
    }
    const caller = { tenant };
    if (req.method !== 'POST') {
      await yoga(req, res, { caller });
      return;
    }
    // Every POST body is read here, under a size limit (Yoga has none of its own).
    const read = await readBody(req, maxBodyBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      return writeJsonError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${maxBodyBytes} bytes.`, corsHeaders(req, corsOrigins));
    }
    if (read.body.length === 0) return writeJsonError(res, 400, 'BAD_REQUEST', 'POST body is empty.', corsHeaders(req, corsOrigins));

    let slot: ResponseCacheSlot | undefined;
    if (responses && (req.headers['content-type'] ?? '').startsWith('application/json')) {
      const key = cacheKey(req, tenant, read.body);
      const hit = responses.get(key);
      metrics.cacheLookup('response', hit !== undefined);
      if (hit) {
        metrics.operation(hit.operation, 'cached');
        res.writeHead(200, { ...hit.headers, 'content-length': hit.body.length });
        res.end(hit.body);
        return;
      }
      slot = { key };
    }
    // @whatwg-node/server (under Yoga) uses an already-read body in `req.body` instead of the stream.
    (req as IncomingMessage & { body?: Buffer }).body = read.body;
    await yoga(req, res, slot ? { caller, responseCacheSlot: slot } : { caller });
  };
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    return requestScope.run({ requestId }, () => handle(req, res));
  };
}
