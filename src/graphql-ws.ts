// The graphql-ws protocol on the same path as HTTP, running operations through Yoga's envelop so
// plugins, error masking and the context factory apply exactly as over HTTP and SSE.
//
// Bounds: the upgrade is routed on the exact path, like HTTP. A socket whose upgrade carried a
// valid key (or any socket on an open gateway) may send frames up to WS_MAX_PAYLOAD_BYTES; one
// that must still authenticate in `connection_init` (browsers cannot set headers) is held to
// WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES for its whole life, since `ws` fixes the frame limit when the
// socket opens. Each connection may run LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION operations at once.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createGraphQLError } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Authenticator } from './auth/authenticator.js';
import { requestTarget } from './http/request-target.js';
import { allowedOrigin } from './plugins/cors-policy.js';
import { exceedsVariableValues } from './plugins/count-variable-values.js';
import { withBoundedMessage } from './plugins/use-bounded-error-messages.js';
import { resolvePersistedOperation, type TrustedDocuments } from './plugins/use-persisted-documents.js';
import { queryTooLargeError, variablesTooLargeError } from './plugins/use-variable-limits.js';
import type { Logger } from './logger.js';
import type { Caller, GatewayYoga } from './yoga.js';

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

interface ConnectionExtra {
  caller?: Caller;
}

export interface GraphQLWebSocketOptions {
  /** Client keys and signed-in users (an open gateway when it has neither). */
  authenticator: Authenticator;
  /** A signed-in user's socket closes this long after the token's expiry (the tolerance it was verified with). */
  tokenClockToleranceMs: number;
  maxPayloadBytes: number;
  unauthenticatedMaxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  maxVariableValues: number;
  maxQueryChars: number;
  /** The trusted-documents manifest; undefined: none configured. */
  persistedDocuments: TrustedDocuments | undefined;
  /** CORS_ORIGINS: the origins a browser page may open a socket from (undefined: loopback ones). */
  corsOrigins: string[] | undefined;
  logger: Logger;
}

/**
 * Browsers cannot set headers on a WebSocket, so the client key or sign-in token may also come in
 * the connection parameters: `{ authorization: "Bearer <key or token>" }`.
 */
function presentedAuthorization(connectionParams: Readonly<Record<string, unknown>> | undefined, header: string | undefined): string | undefined {
  const param = connectionParams?.authorization ?? connectionParams?.Authorization;
  return typeof param === 'string' ? param : header;
}

function tooManySubscriptions(max: number): GraphQLError {
  return createGraphQLError(`This connection already runs ${max} operations; complete one first.`, {
    extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: max, scope: 'connection' },
  });
}

/**
 * A browser opens a WebSocket to any site without a preflight and sends its Origin; no CORS rule
 * protects the socket. On an open gateway a page on another site could otherwise run mutations
 * with the gateway's upstream credit, so a browser upgrade must come from an allowed origin or from
 * the gateway's own. Other clients send no Origin.
 */
function originMayConnect(req: IncomingMessage, corsOrigins: string[] | undefined): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowedOrigin(origin, corsOrigins) !== undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

export function attachGraphQLWebSocket(server: Server, yoga: GatewayYoga, options: GraphQLWebSocketOptions): { close(): Promise<void> } {
  const { authenticator, maxSubscriptionsPerConnection, maxVariableValues } = options;
  const logger = options.logger.child({ component: 'graphql-ws' });
  const trusted = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const untrusted = !authenticator.open ? new WebSocketServer({ noServer: true, maxPayload: options.unauthenticatedMaxPayloadBytes }) : undefined;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const found = requestTarget(req.url);
    if (found.kind !== 'found' || found.target.route !== 'graphql') return refuseUpgrade(socket, '404 Not Found');
    if (!originMayConnect(req, options.corsOrigins)) return refuseUpgrade(socket, '403 Forbidden');
    // Only a client key in the upgrade request itself earns the larger frames; browsers (and signed-in
    // users) authenticate in connection_init.
    const keyed = authenticator.open || authenticator.holdsClientKey(req.headers.authorization);
    const wss = keyed || !untrusted ? trusted : untrusted;
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      // graphql-ws reports socket errors on stderr with a stack; a frame over the limit is routine
      // here, and ws closes such a socket itself (1009). Log it through our logger instead.
      ws.removeAllListeners('error');
      ws.on('error', (error) => logger.info({ err: { message: error.message } }, 'WebSocket closed on a protocol error'));
    });
  };
  server.on('upgrade', onUpgrade);

  // One set of handlers, served on both socket servers.
  const serve = (wss: WebSocketServer) =>
    useServer(
      {
        // Yoga's recipe: the enveloped execute/subscribe travel in rootValue from onSubscribe.
        execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>,
        subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['subscribe']>>,
        onConnect: async (ctx) => {
          const address = ctx.extra.request.socket.remoteAddress ?? 'unknown';
          const caller = await authenticator.authenticate(presentedAuthorization(ctx.connectionParams, ctx.extra.request.headers.authorization), address);
          if (caller === undefined) {
            // 4401 rather than graphql-ws's default 4403: clients retry 4403 ("might grant access
            // after retry") for about 40 s before the app hears of it, and treat 4401 as final.
            ctx.extra.socket.close(4401, 'UNAUTHENTICATED');
            return false;
          }
          (ctx.extra as ConnectionExtra).caller = caller;
          // A signed-in user's socket lasts as long as the token it was opened with (plus the clock
          // tolerance the token was checked with): then it closes as if the token had been refused.
          if (caller.expiresAt !== undefined) {
            const socket = ctx.extra.socket;
            const untilExpiry = caller.expiresAt.getTime() + options.tokenClockToleranceMs - Date.now();
            // setTimeout fires at once past 2^31 - 1 ms (about 24.8 days); a longer token is cut there.
            const timer = setTimeout(() => socket.close(4401, 'UNAUTHENTICATED'), Math.min(Math.max(0, untilExpiry), 2 ** 31 - 1));
            timer.unref();
            socket.once('close', () => clearTimeout(timer));
          }
          return true;
        },
        onSubscribe: async (ctx, _id, sent) => {
          // graphql-ws has already registered this operation, so the count includes it.
          if (Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) return [tooManySubscriptions(maxSubscriptionsPerConnection)];
          // Persisted ids become the manifest's text here: Yoga's onParams, where HTTP does it, does not run for sockets.
          const resolved = options.persistedDocuments ? resolvePersistedOperation(options.persistedDocuments, sent) : { ok: true as const, params: sent };
          if (!resolved.ok) return [resolved.error];
          const { params } = resolved;
          if (params.query.length > options.maxQueryChars) return [queryTooLargeError(options.maxQueryChars, false)];
          if (exceedsVariableValues(params.variables, maxVariableValues)) return [variablesTooLargeError(maxVariableValues, false)];
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            caller: (ctx.extra as ConnectionExtra).caller,
            params,
          });
          const args = {
            schema,
            operationName: params.operationName,
            document: parse(params.query),
            variableValues: params.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } satisfies EnvelopedRoot,
          };
          const errors = validate(args.schema, args.document);
          if (errors.length > 0) return errors.map(withBoundedMessage);
          return args;
        },
      },
      wss,
    );
  const disposables = [serve(trusted), ...(untrusted ? [serve(untrusted)] : [])];
  return {
    async close() {
      server.off('upgrade', onUpgrade);
      await Promise.all(disposables.map((disposable) => disposable.dispose()));
      await Promise.all([trusted, untrusted].map((wss) => wss && new Promise<void>((resolve) => wss.close(() => resolve()))));
    },
  };
}
