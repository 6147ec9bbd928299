// The composition root: builds every part of the gateway from config, and wires them. Where state
// lives (this process, or Redis for many replicas), where the task history is kept (SQLite or
// PostgreSQL), which ids callers see, the task readers, live updates, the create service, the
// context factory, Yoga and the HTTP handler are all decided here and nowhere else; every other
// module depends on what it is handed. It does not listen: server.ts does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClientKeyring } from './auth/client-keys.js';
import { SignedTaskIds, verbatimTaskIds } from './auth/task-ids.js';
import type { Config, UpstreamConfig } from './config.js';
import { createContextFactory } from './context.js';
import { CreateAdmission } from './create-video/create-admission.js';
import { LocalTokenBuckets, RedisTokenBuckets } from './create-video/create-rate-limit.js';
import { CreateVideoService } from './create-video/create-video-service.js';
import { InMemoryIdempotencyStore } from './create-video/idempotency.js';
import { RedisIdempotencyStore } from './create-video/redis-idempotency-store.js';
import { openTaskHistory } from './history/open-task-history.js';
import { TaskStatusNotes } from './history/task-status-notes.js';
import { CachedResponses } from './response-cache/cached-responses.js';
import { createGraphQLRequestHandler } from './http/graphql-request-handler.js';
import type { ServeSimulatorVideo } from './http/simulator-video-route.js';
import { soloPolling } from './live/poll-coordinator.js';
import { RedisPollCoordinator } from './live/redis-poll-coordinator.js';
import { RedisTaskCache } from './tasks/redis-task-cache.js';
import { createTaskResultCache } from './tasks/task-result-cache.js';
import { TaskReader } from './tasks/task-reader.js';
import { TaskWatchHub } from './live/task-watch-hub.js';
import { TaskFollower } from './live/task-follower.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { TokenBuckets } from './token-buckets.js';
import { connectRedis } from './redis-connection.js';
import { PersistedDocuments } from './persisted-documents.js';
import type { TrustedDocuments } from './plugins/use-persisted-documents.js';
import { createErrorMasker } from './schema/errors.js';
import { schema } from './schema/index.js';
import { UpstreamClient } from './upstream/client.js';
import { createGatewayYoga, type GatewayYoga } from './yoga.js';

export interface Gateway {
  upstream: UpstreamClient;
  live: TaskWatchHub;
  yoga: GatewayYoga;
  /** Undefined: an open gateway (no client keys). */
  keyring: ClientKeyring | undefined;
  /** The trusted-documents manifest, for the WebSocket path too; undefined: none configured. */
  persistedDocuments: TrustedDocuments | undefined;
  /** The node:http request handler (routes, keys, bodies, the response cache, then Yoga). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Resumes following the history's unfinished tasks (and rescans it from then on). Called once
   * the gateway listens: a read before that could not yet build the embedded simulator's links.
   */
  startFollowing(): void;
  /** From now on /ready answers 503: shutdown has begun (following stops, marking nothing). */
  startDraining(): void;
  /** Stops pollers' leases, the Redis connection and the task history (after the server has stopped). */
  close(): Promise<void>;
}

/** When the embedded simulator stands in for the upstream: its videos are served on the gateway's port. */
export interface EmbeddedSimulatorVideos {
  serve: ServeSimulatorVideo;
  /** The gateway's public origin (known once it listens): the simulator's links point there. */
  publicOrigin: () => string;
}

export async function composeGateway(
  config: Config,
  logger: Logger,
  upstreamConfig: UpstreamConfig & { apiKey: string },
  simulatorVideos?: EmbeddedSimulatorVideos,
): Promise<Gateway> {
  // First, before anything holds a connection: a history that cannot open stops the start.
  const history = await openTaskHistory({ ...config.history, logger });
  const statusNotes = new TaskStatusNotes(history, logger);
  const metrics = new GatewayMetrics();
  const upstream = new UpstreamClient(upstreamConfig, logger, metrics, { selfServedVideoOrigin: simulatorVideos?.publicOrigin });

  // Shared state: in this process, or in Redis when REDIS_URL is set so replicas share it.
  const redis = config.redis ? connectRedis(config.redis, logger) : undefined;
  if (redis) metrics.trackRedis(() => redis.isReady());
  const taskCache = createTaskResultCache(config.taskCache);
  const tasks = new TaskReader(
    upstream,
    taskCache,
    redis && config.taskCache.maxEntries > 0 ? new RedisTaskCache(redis, config.taskCache, logger) : undefined,
    // Every upstream read notes the task's status in the history (never waiting for it).
    (snapshot) => statusNotes.note(snapshot),
  );
  // A lease lasts one capped poll interval: a dead holder's task is taken over within about two.
  const pollCoordinator = redis ? new RedisPollCoordinator(redis, config.live.pollMaxIntervalMs, logger) : soloPolling;
  const localBuckets = new LocalTokenBuckets(config.createLimits);
  const admission = new CreateAdmission(config.createLimits, redis ? new RedisTokenBuckets(redis, config.createLimits, localBuckets, logger) : localBuckets);
  const idempotency = redis
    ? new RedisIdempotencyStore(
        redis,
        {
          // A create is sent once and may take connect + headers + body timeouts; keep the claim past that.
          inFlightMs: config.upstream.connectTimeoutMs + 2 * config.upstream.timeoutMs + 60_000,
          waitMs: config.createLimits.idempotencyWaitMs,
        },
        logger,
      )
    : new InMemoryIdempotencyStore(config.createLimits.idempotencyMaxKeys);

  const live = new TaskWatchHub(tasks, config.live, logger, pollCoordinator);
  metrics.trackLive(live);
  // Every task created here is followed to its end through the same pollers as subscriptions.
  const follower = new TaskFollower(live, history, config.follow, logger);
  metrics.trackFollowing(follower);
  const responses =
    config.taskCache.maxEntries > 0
      ? new CachedResponses({
          maxEntries: config.taskCache.maxEntries,
          maxBytes: config.taskCache.responseMaxBytes,
          maxEntryBytes: config.taskCache.responseMaxEntryBytes,
        })
      : undefined;
  metrics.trackCaches({ task: taskCache, response: responses });

  const createVideo = new CreateVideoService({
    upstream,
    admission,
    idempotency,
    limits: { imageMaxDecodedBytes: config.limits.imageMaxDecodedBytes, createMaxBodyBytes: config.limits.createMaxBodyBytes },
    history,
    logger,
    onCreated: (taskId) => tasks.noteExists(taskId),
    onRecorded: (taskId) => follower.follow(taskId),
  });

  // Ids are signed whenever there are client keys (config refuses keys without a secret).
  const idSecret = config.auth.clients ? config.auth.idSecret : undefined;
  const context = createContextFactory({
    maxTaskReads: config.graphqlLimits.maxTaskReads,
    onTaskLookup: (hit) => metrics.cacheLookup('task', hit),
    ids: idSecret !== undefined ? new SignedTaskIds(idSecret) : verbatimTaskIds,
    // Signed ids are authentic by construction; verbatim ones can be guessed, so reads of ids nobody
    // has seen exist are rationed per owner (a tenant, or a caller address on an open gateway).
    unknownIdReads:
      idSecret !== undefined
        ? undefined
        : new TokenBuckets({ perMinute: config.taskCache.unknownIdReadsPerMinute, burst: config.taskCache.unknownIdReadsBurst }),
    operationDeadlineMs: config.http.operationDeadlineMs,
    createVideo,
    tasks,
    live,
    taskCache: config.taskCache,
    history,
    logger,
    onTaskDeleted: (taskId) => follower.unfollow(taskId),
  });

  let draining = false;
  // Fires when shutdown begins, for the parts that must end what they hold open.
  const shutdown = new AbortController();
  // Trusted documents: the manifest config.ts has read and checked, indexed for lookups by id.
  const manifest = config.persistedDocuments;
  const persistedDocuments: TrustedDocuments | undefined = manifest
    ? { documents: new PersistedDocuments(manifest.documents), allowArbitrary: manifest.allowArbitrary }
    : undefined;
  if (manifest) {
    logger.info(
      { file: manifest.file, documents: Object.keys(manifest.documents).length, allowArbitrary: manifest.allowArbitrary },
      manifest.allowArbitrary ? 'persisted documents loaded; operations sent as text still run' : "trusted documents: only the manifest's operations run",
    );
  }
  const yoga = createGatewayYoga({
    config,
    persistedDocuments,
    schema,
    context,
    maskError: createErrorMasker(logger),
    responses,
    logger,
    metrics,
    // Not ready while draining, nor while a configured Redis does not answer, nor while the upstream keeps timing out.
    isReady: () => !draining && (redis?.isReady() ?? true) && !upstream.isDegraded(),
    shutdown: shutdown.signal,
  });

  const keyring = config.auth.clients ? new ClientKeyring(config.auth.clients) : undefined;
  if (!keyring) logger.warn('GATEWAY_API_KEYS is not set: the gateway is open to anyone who can reach it (fine for local development)');
  const handle = createGraphQLRequestHandler({
    yoga,
    responses,
    maxBodyBytes: config.limits.requestMaxBodyBytes,
    keyring,
    metrics,
    metricsToken: config.auth.metricsToken,
    corsOrigins: config.exposure.corsOrigins,
    graphiql: config.exposure.graphiql,
    maxVariableValues: config.graphqlLimits.maxVariableValues,
    simulatorVideos: simulatorVideos?.serve,
  });

  return {
    upstream,
    live,
    yoga,
    keyring,
    persistedDocuments,
    handle,
    startFollowing() {
      follower.start();
    },
    startDraining() {
      draining = true;
      shutdown.abort();
      // Before the hub ends its pollers: a following cut by shutdown is not an error to retry.
      void follower.close();
    },
    async close() {
      // No scan of the history may still run when it closes.
      await follower.close();
      await pollCoordinator.close();
      await redis?.close();
      // Status notes still being written land before the store closes.
      await statusNotes.settled();
      await history.close();
    },
  };
}
