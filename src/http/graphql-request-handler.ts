// The node:http handler in front of Yoga. It decides the route from the exact request path, checks
// the client key for every request that can reach GraphQL, reads and parses POST bodies once under a
// size limit, and answers a POSTed query whose exact response is cached before Yoga builds, parses,
// validates or executes anything: that is what makes cached reads several times faster than the
// framework floor. The GraphiQL page and its files (graphiql-page.ts, graphiql-assets.ts) are
// answered here too, without a key and only when GraphiQL is enabled. Everything else goes to Yoga
// as a Request built here.
//
// Not a side door: whatever must apply to every request (authentication and tenant scoping, limits,
// request ids, metrics) belongs in this handler before the cache lookup, or in the cache key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticator.js';
import type { GatewayMetrics } from '../metrics.js';
import { requestIdFrom, requestScope } from '../request-scope.js';
import type { Caller, GatewayServerContext, GatewayYoga } from '../yoga.js';
import { cacheKey } from '../response-cache/cache-key.js';
import type { CachedResponses, ResponseCacheSlot } from '../response-cache/cached-responses.js';
import { allowedOrigin, EXPOSED_HEADERS } from '../plugins/cors-policy.js';
import { STREAM_TOKEN_HEADER, streamTokenIn } from '../plugins/use-graphql-sse-single-connection.js';
import { forwardToYoga } from './forward-to-yoga.js';
import { createGraphiQLAssets } from './graphiql-assets.js';
import { serveGraphiQLPage } from './graphiql-page.js';
import { exceedsJsonValues, isJsonContentType, isMultipart, parseJsonBody } from './json-body.js';
import { readBody } from '../read-body.js';
import { requestTarget, type RequestTarget } from './request-target.js';
import { serveSimulatorVideo, type ServeSimulatorVideo } from './simulator-video-route.js';
import { serveStoredVideo, type StoredVideos } from './stored-video-route.js';
import { serveWatchLink, type OpenWatchStreams, type WatchLinkOptions } from './watch-link-route.js';
import { readMultipartOperation, type MultipartLimits } from './multipart-operation.js';
import { exceedsVariableValues } from '../plugins/count-variable-values.js';

export interface GraphQLRequestHandlerOptions {
  yoga: GatewayYoga;
  /** Undefined: no response cache, every request goes to Yoga as it is. */
  responses: CachedResponses | undefined;
  maxBodyBytes: number;
  /** Client keys and signed-in users (an open gateway when it has neither). */
  authenticator: Authenticator;
  metrics: GatewayMetrics;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Origins allowed by CORS (undefined: any), so a browser can read the errors answered here. */
  corsOrigins: string[] | undefined;
  /** Whether GraphiQL is served: only then may its page be fetched without a key. */
  graphiql: boolean;
  /** GRAPHQL_MAX_VARIABLE_VALUES: a JSON body with far more values than this is not even parsed. */
  maxVariableValues: number;
  /** The embedded simulator's videos; undefined (a real upstream): their path is not found. */
  simulatorVideos?: ServeSimulatorVideo | undefined;
  /** The gateway's copies of finished videos, at their signed links. */
  storedVideos: StoredVideos;
  /** Watch links: one task's live updates as server-sent events, for EventSource. */
  watchLinks: WatchLinkOptions;
  /** Multipart uploads: each file, the number of files, each field (operations, map). */
  uploadLimits: Omit<MultipartLimits, 'maxBodyBytes'>;
}

// Room besides the variables for the document (GraphQL Armor bounds its tokens) and a long prompt.
const JSON_VALUES_PER_VARIABLE_VALUE = 4;
const JSON_VALUES_SLACK = 10_000;

function sameSecret(presented: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(`Bearer ${expected}`));
}

function writeJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): void {
  const body = errorBody(code, message, extensions);
  res.writeHead(status, { ...headers, 'content-type': errorContentType(res), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The gateway's error shape: one error with a stable extensions.code. */
function errorBody(code: string, message: string, extensions: Record<string, unknown> = {}): string {
  return JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/**
 * A client that accepts the GraphQL-over-HTTP media type reads a non-2xx answer in it as a GraphQL
 * response (Apollo Client then hands the app the coded errors, not an opaque server error).
 */
function errorContentType(res: ServerResponse): string {
  return (res.req?.headers.accept ?? '').includes('application/graphql-response+json')
    ? 'application/graphql-response+json; charset=utf-8'
    : 'application/json; charset=utf-8';
}

/** How long a refused upload's client may go on sending (thrown away) before its connection closes. */
const LINGER_MS = 5_000;

/**
 * A refusal while the client is still sending its body (an upload over a limit): the whole answer
 * goes out at once (its Content-Length tells the client it is complete), but the connection closes
 * only once the client has stopped sending, or after LINGER_MS. Closing at once would make a client
 * still writing see a broken pipe instead of the answer. What it sends meanwhile is read and thrown
 * away (the reader cuts the connection past the body limit).
 */
function refuseWhileReceiving(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string>): void {
  const body = errorBody(code, message);
  res.writeHead(status, { ...headers, connection: 'close', 'content-type': errorContentType(res), 'content-length': Buffer.byteLength(body) });
  res.write(body);
  const close = () => {
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  if (req.complete) close();
  else {
    req.once('end', close);
    req.once('close', close);
  }
}

/** The one 404 of the HTTP layer: unknown paths, and routes that are off (GraphiQL, simulator videos). */
function writeNotFound(res: ServerResponse, headers: Record<string, string> = {}): void {
  writeJsonError(res, 404, 'NOT_FOUND', 'Not found. GraphQL is served at /graphql.', headers);
}

/**
 * CORS headers for answers written here rather than by Yoga: without them a browser on another
 * origin would see a 401 or 413 as an opaque network error.
 */
function corsHeaders(req: IncomingMessage, allowed: string[] | undefined): Record<string, string> {
  const origin = allowedOrigin(req.headers.origin, allowed);
  if (origin === undefined) return {};
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS.join(', '), vary: 'Origin' };
}

async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: GatewayMetrics, token: string | undefined): Promise<void> {
  if (token !== undefined && !sameSecret(req.headers.authorization, token)) {
    return writeJsonError(res, 401, 'UNAUTHENTICATED', 'The metrics token is required: Authorization: Bearer <token>.');
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createGraphQLRequestHandler(options: GraphQLRequestHandlerOptions) {
  const { yoga, responses, maxBodyBytes, authenticator, metrics, metricsToken, corsOrigins, graphiql } = options;
  const maxJsonValues = options.maxVariableValues * JSON_VALUES_PER_VARIABLE_VALUE + JSON_VALUES_SLACK;
  // GraphiQL's page and files exist only while GraphiQL is enabled; they are read on first use.
  const graphiqlAssets = graphiql ? createGraphiQLAssets() : undefined;
  const openWatchStreams: OpenWatchStreams = new Map();

  /** Who calls: a key's tenant, a signed-in user, or anyone on an open gateway; undefined when the credential is missing or wrong. */
  function authenticate(req: IncomingMessage): Promise<Caller | undefined> {
    return authenticator.authenticate(req.headers.authorization, req.socket.remoteAddress ?? 'unknown');
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const cors = () => corsHeaders(req, corsOrigins);
    // A preflight carries no credentials and runs nothing; Yoga answers it with the CORS policy.
    if (req.method === 'OPTIONS') return forwardToYoga(yoga, req, res, { path: target.path, search: '' }, {});
    // The GraphiQL page holds nothing secret, and every operation it sends needs a key. The query
    // string is dropped, so this path can only ever render the page.
    if (graphiqlAssets && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
      return serveGraphiQLPage(res, graphiqlAssets);
    }
    const caller = await authenticate(req);
    if (caller === undefined) {
      return writeJsonError(res, 401, 'UNAUTHENTICATED', 'A valid client key or sign-in token is required: Authorization: Bearer <key or token>.', {
        'www-authenticate': 'Bearer',
        ...cors(),
      });
    }
    if (req.method !== 'POST') return forwardToYoga(yoga, req, res, target, { caller });
    if (isMultipart(req.headers['content-type'])) return serveUpload(req, res, target, caller, cors);

    const read = await readBody(req, maxBodyBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      return writeJsonError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${maxBodyBytes} bytes.`, cors());
    }
    if (read.body.length === 0) return writeJsonError(res, 400, 'BAD_REQUEST', 'POST body is empty.', cors());
    // Other media types (forms, application/graphql) go to Yoga as bytes, under its own rules.
    if (!isJsonContentType(req.headers['content-type'])) return forwardToYoga(yoga, req, res, target, { caller }, read.body);

    // An operation for a graphql-sse stream (single-connection mode): answered 202, its results go
    // to the stream. Never a cache hit; the plugin reads the body itself, after the same checks.
    const streamOperation = streamTokenIn(req.headers[STREAM_TOKEN_HEADER], target.search) !== undefined;
    let slot: ResponseCacheSlot | undefined;
    if (responses && !streamOperation) {
      const key = cacheKey(req, caller, read.body);
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
    if (exceedsJsonValues(read.body, maxJsonValues)) {
      return writeJsonError(
        res,
        400,
        'VARIABLES_TOO_LARGE',
        `The request holds more than ${maxJsonValues} JSON values; variables may hold at most ${options.maxVariableValues}.`,
        cors(),
        { maxVariableValues: options.maxVariableValues },
      );
    }
    if (streamOperation) return forwardToYoga(yoga, req, res, target, { caller }, read.body);
    const parsed = parseJsonBody(read.body);
    if (!parsed.ok) return writeJsonError(res, 400, 'BAD_REQUEST', parsed.message, cors());
    const context: GatewayServerContext = slot ? { caller, responseCacheSlot: slot, parsedBody: parsed.value } : { caller, parsedBody: parsed.value };
    return forwardToYoga(yoga, req, res, target, context);
  }

  /** A multipart upload: parsed here under the upload limits, then run like a parsed JSON body (never cached). */
  async function serveUpload(req: IncomingMessage, res: ServerResponse, target: RequestTarget, caller: Caller, cors: () => Record<string, string>): Promise<void> {
    const read = await readMultipartOperation(req, { ...options.uploadLimits, maxBodyBytes });
    if (read.kind === 'aborted') return;
    if (read.kind === 'refused') return refuseWhileReceiving(req, res, read.status, read.code, read.message, cors());
    const variables = read.operation.variables;
    if (variables !== undefined && exceedsVariableValues(variables, options.maxVariableValues)) {
      return writeJsonError(res, 400, 'VARIABLES_TOO_LARGE', `Variables may hold at most ${options.maxVariableValues} values.`, cors(), {
        maxVariableValues: options.maxVariableValues,
      });
    }
    return forwardToYoga(yoga, req, res, target, { caller, parsedBody: read.operation });
  }

  // GraphiQL's files hold nothing secret: no key, but only while GraphiQL is enabled.
  async function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const answer = graphiqlAssets ? await graphiqlAssets.serve(req, res, path) : 'not-found';
    if (answer === 'not-found') return writeNotFound(res);
    if (answer === 'method-not-allowed') return writeJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET for GraphiQL files.', { allow: 'GET, HEAD' });
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const found = requestTarget(req.url);
    if (found.kind === 'malformed') return writeJsonError(res, 400, 'BAD_REQUEST', 'The request target must be a path such as /graphql.');
    if (found.kind === 'not-found') return writeNotFound(res, corsHeaders(req, corsOrigins));
    const { target } = found;
    switch (target.route) {
      case 'graphql':
        return serveGraphQL(req, res, target);
      case 'graphiql-asset':
        return serveGraphiQLAsset(req, res, target.path);
      // No key: a <video src> cannot send one (see simulator-video-route.ts for what the link exposes).
      case 'simulator-video':
        if (!options.simulatorVideos) return writeNotFound(res, corsHeaders(req, corsOrigins));
        return serveSimulatorVideo(req, res, target.path, options.simulatorVideos, (status, code, message, headers) => writeJsonError(res, status, code, message, headers));
      // No key either: the signed link is the capability (see stored-video-route.ts).
      case 'stored-video':
        return serveStoredVideo(req, res, target, options.storedVideos, (status, code, message, headers) => writeJsonError(res, status, code, message, headers));
      // No key either: the signed link is the capability (see watch-link-route.ts).
      case 'watch-link':
        return serveWatchLink(req, res, target, options.watchLinks, openWatchStreams, (status, code, message, headers) =>
          writeJsonError(res, status, code, message, headers),
        );
      case 'metrics':
        if (req.method !== 'GET') return writeJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET for /metrics.', { allow: 'GET' });
        return serveMetrics(req, res, metrics, metricsToken);
      // Health and readiness answer without a client key; Yoga's own checks serve them.
      case 'health':
      case 'ready':
        return forwardToYoga(yoga, req, res, { path: target.path, search: '' }, {});
    }
  };
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    return requestScope.run({ requestId }, () => handle(req, res));
  };
}
