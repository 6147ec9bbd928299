// graphql-sse's single-connection mode, on /graphql itself. The client reserves a stream (PUT, the
// answer is its token), opens it as an event stream (GET, `accept: text/event-stream`, token in the
// `x-graphql-event-stream-token` header or a `token` query parameter), sends each operation as a
// POST with the token (answered 202, results arrive on the stream) and stops one with a DELETE.
// @graphql-yoga/plugin-graphql-sse serves that protocol; this plugin hands it exactly the requests
// that belong to it — PUT, DELETE, and requests carrying a token — and leaves everything else to
// Yoga, whose own SSE already serves graphql-sse's distinct-connections mode and EventSource on the
// same URL. One URL for every client.
//
// Around the protocol handler, the gateway's rules:
// - The HTTP layer has checked the client key before any of this (a request without one reserves
//   nothing). A stream belongs to the caller that reserved it: another caller presenting its token
//   is told the stream does not exist.
// - Streams per caller are bounded, and so are reservations waiting for their event stream, which
//   are dropped after LIVE_SSE_STREAM_CONNECT_TIMEOUT_MS (graphql-sse would keep them for ever).
//   Operations are taken only once the event stream is open, so nothing piles up unread.
//   Subscriptions count against the same per-tenant caps as over any other transport (the hub).
// - Yoga's onParams hooks do not run on this path, so the query length and variable count limits
//   are checked here; GraphQL Armor and error masking run in envelop and apply as everywhere.
// - Every refusal carries an extensions.code (graphql-sse answers with bare messages or no body).
// - At shutdown open streams end, after their operations have completed, so the server is not held
//   open until the grace period cuts them.
import { limitOwnerOf, type AuthenticatedCaller } from '../auth/caller-owner.js';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { exceedsVariableValues } from './count-variable-values.js';
import { StreamReservations, type StreamReservationLimits } from './sse-stream-reservations.js';
import { withBoundedMessage } from './use-bounded-error-messages.js';
import { queryTooLargeError, variablesTooLargeError } from './use-variable-limits.js';

export const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';
/** graphql-sse's query parameter for the token, for event stream clients that cannot set headers. */
const STREAM_TOKEN_PARAM = 'token';

export interface GraphQLSSESingleConnectionOptions extends StreamReservationLimits {
  /** Where Yoga serves GraphQL, e.g. `/graphql`. */
  endpoint: string;
  maxVariableValues: number;
  maxQueryChars: number;
  /** Fires when shutdown begins: open streams end shortly after (their operations complete first). */
  shutdown: AbortSignal;
  logger: Pick<Logger, 'error'>;
}

/** Who the HTTP layer says is calling (see yoga.ts, `Caller`). */
interface CallerContext {
  caller?: AuthenticatedCaller;
}

/** The stream token a request carries (header first, then query string), if any. */
export function streamTokenIn(header: string | string[] | null | undefined, search: string): string | undefined {
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader) return fromHeader;
  return new URLSearchParams(search).get(STREAM_TOKEN_PARAM) || undefined;
}

function tokenOf(request: Request): string | undefined {
  const query = request.url.indexOf('?');
  return streamTokenIn(request.headers.get(STREAM_TOKEN_HEADER), query < 0 ? '' : request.url.slice(query + 1));
}


type OnRequestPayload = Parameters<NonNullable<Plugin['onRequest']>>[0];
/** Yoga's fetch implementation. */
type FetchAPI = OnRequestPayload['fetchAPI'];
type YogaServer = Parameters<NonNullable<Plugin['onYogaInit']>>[0]['yoga'];

/** graphql-sse opens an event stream only for exactly this Accept. */
const isEventStreamConnect = (request: Request) => request.headers.get('accept') === 'text/event-stream';

// The codes of graphql-sse's own refusals, by status.
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  404: 'STREAM_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'STREAM_CONFLICT',
};

/**
 * The result as the gateway writes errors everywhere else: bounded messages, a code on request
 * errors that have none, and without Yoga's internal `extensions.http` (graphql-sse serialises
 * results as they are; Yoga's own answers leave it out).
 */
function forClient(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    if (!(error instanceof GraphQLError)) return error;
    const bounded = withBoundedMessage(error);
    const { http, ...extensions } = bounded.extensions;
    if (http === undefined && (bounded.path !== undefined || extensions.code !== undefined)) return bounded;
    if (bounded.path === undefined) extensions.code ??= 'BAD_USER_INPUT';
    return new GraphQLError(bounded.message, { nodes: bounded.nodes, source: bounded.source, positions: bounded.positions, path: bounded.path, extensions });
  });
  return { ...result, errors };
}

interface OperationParams {
  query?: unknown;
  variables?: unknown;
}

/** The operation parameters of an operation request, as far as the checks before running it need them. */
async function operationParams(request: Request): Promise<OperationParams | undefined> {
  try {
    if (request.method === 'GET') {
      const search = new URL(request.url).searchParams;
      const variables = search.get('variables');
      return { query: search.get('query') ?? undefined, variables: variables ? (JSON.parse(variables) as unknown) : undefined };
    }
    const body = JSON.parse(await request.clone().text()) as unknown;
    return body !== null && typeof body === 'object' ? (body as OperationParams) : undefined;
  } catch {
    return undefined; // graphql-sse refuses what it cannot parse, with a 400
  }
}

export function useGraphQLSSESingleConnection(options: GraphQLSSESingleConnectionOptions): Plugin {
  const { endpoint, logger } = options;
  let fetchAPI: FetchAPI | undefined;
  let yoga: YogaServer | undefined;
  /** The token chosen for each PUT, handed to graphql-sse through `authenticate`. */
  const reservedTokens = new WeakMap<Request, string>();

  const json = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    new (fetchAPI ?? globalThis).Response(JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] }), {
      status,
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    });

  const inner = useGraphQLSSE({
    endpoint,
    // A PUT gets the token reserved for it; every other request presents one.
    authenticate: (req) => (req.method === 'PUT' ? reservedTokens.get(req.raw) : tokenOf(req.raw)),
    onNext: (_ctx, _req, result) => forClient(result as ExecutionResult),
  });

  /** Makes graphql-sse drop a reserved stream: it does so when an event stream connects and leaves. */
  const forget = (token: string) => {
    const api = fetchAPI;
    if (!api || !inner.onRequest) return;
    const request = new api.Request(`http://localhost${endpoint}`, {
      headers: { accept: 'text/event-stream', [STREAM_TOKEN_HEADER]: token },
      signal: AbortSignal.abort(),
    });
    const dropResponse = (response: Response) => void response.body?.cancel().catch(() => undefined);
    Promise.resolve(
      inner.onRequest({
        request,
        serverContext: {} as OnRequestPayload['serverContext'],
        fetchAPI: api,
        url: new api.URL(request.url),
        requestHandler: () => new api.Response(null, { status: 404 }),
        setRequest: () => undefined,
        setRequestHandler: () => undefined,
        endResponse: dropResponse,
      }),
    ).catch((error: unknown) => logger.error({ err: error }, 'could not drop an expired event stream reservation'));
  };

  const reservations = new StreamReservations(options, forget);
  options.shutdown.addEventListener(
    'abort',
    () => {
      // After the hub has completed every subscription (server.ts closes it right after), so the
      // completions reach the clients before their streams end.
      setTimeout(() => reservations.endAll(), 50).unref();
    },
    { once: true },
  );

  /** graphql-sse's answer with an extensions.code when it is a refusal without one. */
  async function coded(response: Response): Promise<Response> {
    const code = CODE_BY_STATUS[response.status];
    if (response.status < 400 || code === undefined) return response;
    const text = await response.text();
    let message = response.statusText || 'The request was refused.';
    try {
      const body = JSON.parse(text) as { errors?: { message?: unknown }[] };
      if (typeof body.errors?.[0]?.message === 'string') message = body.errors[0].message;
    } catch {
      // no body, or not JSON: the status text says it
    }
    const headers: Record<string, string> = {};
    const allow = response.headers.get('allow');
    if (allow) headers.allow = allow;
    return json(response.status, code, withBoundedMessage(new GraphQLError(message)).message, {}, headers);
  }

  /** A syntax error (or Armor's token limit) thrown by a parse: a coded 400. Anything else is unexpected. */
  function parseRefusal(error: unknown): Response {
    if (error instanceof GraphQLError) {
      return json(400, String(error.extensions.code ?? 'GRAPHQL_PARSE_FAILED'), withBoundedMessage(error).message);
    }
    logger.error({ err: error }, 'graphql-sse failed on a request');
    return json(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
  }

  /** Runs the protocol handler on `payload`'s request (or `request`), with codes on its refusals. */
  async function delegate(payload: OnRequestPayload, request = payload.request): Promise<Response> {
    let answer: Response | undefined;
    try {
      await inner.onRequest?.({ ...payload, request, endResponse: (response) => void (answer = response) });
    } catch (error) {
      return parseRefusal(error);
    }
    return coded(answer ?? json(404, 'STREAM_NOT_FOUND', 'Not a graphql-sse stream request.'));
  }

  /**
   * What Yoga checks on every other path before an operation runs: the query length and variable
   * count (onParams, which does not run here), then the document's syntax and validity. Invalid
   * operations get a 400 with the errors, as graphql-sse's protocol has it; the plugin validates
   * too, but answers "Unable to detect operation AST" instead (graphql-sse takes its `{ errors }`
   * for execution arguments).
   */
  async function operationRefusal(request: Request, serverContext: object): Promise<Response | undefined> {
    const params = await operationParams(request);
    if (params === undefined) return undefined;
    const limit =
      typeof params.query === 'string' && params.query.length > options.maxQueryChars
        ? queryTooLargeError(options.maxQueryChars, false)
        : exceedsVariableValues(params.variables, options.maxVariableValues)
          ? variablesTooLargeError(options.maxVariableValues, false)
          : undefined;
    if (limit) {
      const { code, ...extra } = limit.extensions;
      return json(400, String(code), limit.message, extra);
    }
    if (typeof params.query !== 'string' || !yoga) return undefined;
    // Parsed and validated through envelop (Armor's limits and the parse cache included); the parse
    // cache makes the plugin's own pass over the same text cheap.
    const enveloped = yoga.getEnveloped({ ...serverContext, request, params });
    const document = enveloped.parse(params.query); // a syntax error throws: the caller answers it
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length === 0) return undefined;
    const body = JSON.stringify(forClient({ errors }));
    return new (fetchAPI ?? globalThis).Response(body, { status: 400, headers: { 'content-type': 'application/json; charset=utf-8' } });
  }

  return {
    onYogaInit(init) {
      fetchAPI = init.yoga.fetchAPI;
      yoga = init.yoga;
      inner.onYogaInit?.(init);
    },
    async onRequest(payload) {
      const { request, endResponse } = payload;
      const token = tokenOf(request);
      // Not graphql-sse's single-connection protocol: Yoga serves it (its SSE included).
      if (request.method !== 'PUT' && request.method !== 'DELETE' && token === undefined) return;
      if (new URL(request.url).pathname !== endpoint) return;
      const owner = limitOwnerOf((payload.serverContext as CallerContext).caller);

      if (request.method === 'PUT') {
        const reserved = reservations.reserve(owner);
        if ('refusal' in reserved) {
          const { code, message, ...extra } = reserved.refusal;
          return endResponse(json(429, code, message, extra));
        }
        reservedTokens.set(request, reserved.token);
        const response = await delegate(payload);
        if (response.status !== 201) reservations.release(reserved.token);
        return endResponse(response);
      }

      // Another caller's token reads exactly like a token that does not exist.
      if (token === undefined || !reservations.isHeldBy(token, owner)) {
        return endResponse(json(404, 'STREAM_NOT_FOUND', 'No event stream of yours has this token: reserve one with PUT first.'));
      }

      if (isEventStreamConnect(request)) {
        // graphql-sse ends a stream when its request's signal fires (flushing what is queued): a
        // signal of our own as well lets shutdown end it the same way. The connect carries no
        // operation (the stream exists), so it is handed on as a plain GET.
        const ends = new AbortController();
        const connect = new (fetchAPI ?? globalThis).Request(request.url, {
          method: 'GET',
          headers: request.headers,
          signal: AbortSignal.any([request.signal, ends.signal]),
        });
        const response = await delegate(payload, connect);
        if (response.status === 200) {
          reservations.opened(token, () => ends.abort());
          // The HTTP layer aborts the request's signal once the response has ended, however it ended
          // (the client may even have left already, while graphql-sse was answering).
          if (request.signal.aborted) reservations.release(token);
          else request.signal.addEventListener('abort', () => reservations.release(token), { once: true });
        }
        return endResponse(response);
      }

      if (request.method !== 'DELETE') {
        if (!reservations.isOpen(token)) {
          return endResponse(json(409, 'STREAM_NOT_CONNECTED', 'Open the event stream (GET with accept: text/event-stream) before sending operations to it.'));
        }
        const refusal = await operationRefusal(request, payload.serverContext).catch((error: unknown) => parseRefusal(error));
        if (refusal) return endResponse(refusal);
      }
      return endResponse(await delegate(payload));
    },
  };
}
