// Builds the GraphQL server from what it is handed: the schema, the context factory, the error
// masker and the settings. It imports no domain module and does not listen: the composition root
// (gateway.ts) wires it, server.ts listens, and tests can call `yoga.fetch`.
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { GraphQLSchema } from 'graphql';
import { createYoga, useReadinessCheck, type MaskError, type YogaInitialContext, type YogaLogger } from 'graphql-yoga';
import type { Config } from './config.js';
import { allowedOrigin, EXPOSED_HEADERS } from './plugins/cors-policy.js';
import type { CachedResponses, ResponseCacheSlot } from './response-cache/cached-responses.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { createParseCaches } from './plugins/parse-caches.js';
import { useAbuseLimits } from './plugins/use-abuse-limits.js';
import { useBoundedErrorMessages } from './plugins/use-bounded-error-messages.js';
import { useRefusalCodes } from './plugins/use-refusal-codes.js';
import { useMutationPreflightGuard } from './plugins/use-mutation-preflight-guard.js';
import { useNoProxyBuffering } from './plugins/use-no-proxy-buffering.js';
import { useVaryOrigin } from './plugins/use-vary-origin.js';
import { useOperationMetrics } from './plugins/use-operation-metrics.js';
import { useParsedBody, type ParsedBodyContext } from './plugins/use-parsed-body.js';
import { usePersistedDocuments, type TrustedDocuments } from './plugins/use-persisted-documents.js';
import { useResponseCapture } from './response-cache/use-response-capture.js';
import { useVariableLimits } from './plugins/use-variable-limits.js';
import { useApolloMultipartSubscriptions } from './plugins/use-apollo-multipart-subscriptions.js';
import { useGraphQLSSESingleConnection } from './plugins/use-graphql-sse-single-connection.js';

export interface YogaParts {
  config: Pick<Config, 'exposure' | 'graphqlLimits' | 'streams'> & { http: Pick<Config['http'], 'maxConnections'> };
  schema: GraphQLSchema;
  /** Builds each operation's context from Yoga's initial context (request, server context). */
  context: (initial: YogaInitialContext & GatewayServerContext) => object;
  maskError: MaskError;
  /** Finished responses kept for the HTTP layer; undefined when the task cache is off. */
  responses: CachedResponses | undefined;
  logger: Logger;
  /** False once shutdown has begun, so load balancers stop sending traffic. */
  isReady: () => boolean;
  /** Fires when shutdown begins: streams that outlive their operations (graphql-sse's single connection) end. */
  shutdown: AbortSignal;
  metrics: GatewayMetrics;
  /** The trusted-documents manifest (PERSISTED_DOCUMENTS_FILE); undefined: none. */
  persistedDocuments: TrustedDocuments | undefined;
}

/** Who is calling, once the HTTP layer (or the WebSocket handshake) has authenticated the request. */
export interface Caller {
  /** The tenant of the client key or of the signed-in user; null on an open gateway. */
  tenant: string | null;
  /** The signed-in user (a JWT's `sub`); null for a client key or an open gateway. */
  user: string | null;
  /** The peer's address: what per-caller limits key on when there is no tenant. */
  address: string;
}

/** What the HTTP layer hands Yoga with each request, besides the request itself. */
export interface GatewayServerContext extends ParsedBodyContext {
  caller?: Caller;
  responseCacheSlot?: ResponseCacheSlot;
}

/** Yoga's own log lines go through pino, so they share format, level and redaction. */
function toYogaLogger(logger: Logger): YogaLogger {
  const child = logger.child({ component: 'yoga' });
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      if (first instanceof Error) child[level]({ err: first, args: rest }, first.message);
      else child[level](rest.length > 0 ? { args: rest } : {}, String(first));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function createGatewayYoga(parts: YogaParts) {
  const { config, responses, logger, isReady, metrics } = parts;
  return createYoga<GatewayServerContext>({
    schema: parts.schema,
    graphqlEndpoint: '/graphql',
    context: parts.context,
    // isDev false: a developer's machine masks errors exactly like production does.
    maskedErrors: { maskError: parts.maskError, isDev: false },
    logging: toYogaLogger(logger),
    // The HTTP layer serves GraphiQL (src/http/graphiql-page.ts): Yoga's own page inlines 9 MB.
    graphiql: false,
    // Parsed documents are cached by query text: only sane lengths, bounded in bytes.
    parserAndValidationCache: createParseCaches(),
    // One operation per request: a batch would multiply every per-operation limit.
    batching: false,
    // The HTTP layer reads every body under REQUEST_MAX_BODY_BYTES; Yoga's own 25 MB check would
    // refuse a larger configured limit.
    maxRequestBodySize: false,
    // Listed origins only (loopback ones in development when none are listed); an unlisted one gets no CORS headers.
    cors: (request) => {
      const origin = allowedOrigin(request.headers.get('origin'), config.exposure.corsOrigins);
      return origin === undefined ? false : { origin: [origin], credentials: false, exposedHeaders: EXPOSED_HEADERS };
    },
    landingPage: false,
    // /health: the process answers. /ready: not draining, and the shared Redis (when configured) answers.
    healthCheckEndpoint: '/health',
    plugins: [
      useParsedBody(),
      useBoundedErrorMessages(),
      // After useParsedBody: it sees which request parser was chosen. Every refusal gets a code.
      useRefusalCodes(),
      useReadinessCheck({ endpoint: '/ready', check: () => isReady() }),
      useOperationMetrics(metrics),
      // CSRF: only mutations need a request that a browser cannot forge cross-site (README, "CSRF").
      useMutationPreflightGuard(),
      // Before anything reads the query: a persisted id becomes the manifest's text here.
      ...usePersistedDocuments(parts.persistedDocuments),
      useVariableLimits(config.graphqlLimits.maxVariableValues, config.graphqlLimits.maxQueryChars),
      useAbuseLimits(config.graphqlLimits),
      ...(config.exposure.introspection ? [] : [useDisableIntrospection()]),
      useNoProxyBuffering(),
      useVaryOrigin(),
      // Apollo Client's HttpLink subscriptions (multipart/mixed; subscriptionSpec=1.0). After
      // use-refusal-codes.ts: its result processor wins for the requests it takes.
      useApolloMultipartSubscriptions({ heartbeatIntervalMs: config.streams.multipartHeartbeatMs, logger }),
      // graphql-sse's single-connection mode (PUT/DELETE and token-bearing requests) on /graphql.
      useGraphQLSSESingleConnection({
        endpoint: '/graphql',
        maxPerOwner: config.streams.maxSseStreamsPerTenant,
        // Reservations are about to become connections: never more waiting than connections served.
        maxPending: config.http.maxConnections,
        connectTimeoutMs: config.streams.sseStreamConnectTimeoutMs,
        maxVariableValues: config.graphqlLimits.maxVariableValues,
        maxQueryChars: config.graphqlLimits.maxQueryChars,
        shutdown: parts.shutdown,
        logger,
      }),
      ...(responses ? [useResponseCapture(responses)] : []),
    ],
  });
}

export type GatewayYoga = ReturnType<typeof createGatewayYoga>;
