// The composition root: builds every part of the gateway from config, and wires them. Where state
// lives (this process, or Redis for many replicas), where the task history is kept (SQLite or
// PostgreSQL), which ids callers see, the task readers, live updates, the create service, the
// context factory, Yoga and the HTTP handler are all decided here and nowhere else; every other
// module depends on what it is handed. It does not listen: server.ts does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Authenticator } from './auth/authenticator.js';
import { ClientKeyring } from './auth/client-keys.js';
import { JwtVerifier } from './auth/jwt-verifier.js';
import { InMemoryBudgetLedger } from './create-video/budget-ledger.js';
import { RedisBudgetLedger } from './create-video/redis-budget-ledger.js';
import { SignedTaskIds, verbatimTaskIds } from './auth/task-ids.js';
import type { Config, UpstreamConfig } from './config.js';
import { createContextFactory } from './context.js';
import { CreateAdmission } from './create-video/create-admission.js';
import { LocalTokenBuckets, RedisTokenBuckets } from './create-video/create-rate-limit.js';
import { budgetLimitsFor, CreateVideoService } from './create-video/create-video-service.js';
import { InMemoryIdempotencyStore } from './create-video/idempotency.js';
import { RedisIdempotencyStore } from './create-video/redis-idempotency-store.js';
import { randomBytes } from 'node:crypto';
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
import { allCopyKeysOf } from './videos/copy-keys.js';
import { openVideoStore } from './videos/open-video-store.js';
import { RetentionSweep } from './videos/retention-sweep.js';
import { VideoCopier } from './videos/video-copier.js';
import { createVideoDownloader } from './videos/video-download.js';
import { VideoLinks } from './videos/video-links.js';
import { WatchLinks } from './live/watch-links.js';
import { runWatchSubscription } from './schema/watch-subscription.js';
import type { VideoStore } from './videos/video-store.js';
import { createGatewayYoga, type GatewayYoga } from './yoga.js';

/** The history's shared secrets that sign stored-video links and watch links: the same on every replica and after restarts. */
const VIDEO_LINK_SECRET_NAME = 'video-links';
const WATCH_LINK_SECRET_NAME = 'watch-links';
/** Signed CDN links may redirect once or twice (to a regional edge); more is not a video host. */
const VIDEO_DOWNLOAD_MAX_REDIRECTS = 3;

export interface Gateway {
  upstream: UpstreamClient;
  live: TaskWatchHub;
  yoga: GatewayYoga;
  /** Client keys and signed-in users; open when there are neither. */
  authenticator: Authenticator;
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

/** Where the gateway is reached, and what it serves besides GraphQL. */
export interface GatewaySite {
  /** Where browsers reach the gateway, without a trailing slash (known once it listens): links are built on it. */
  publicUrl: () => string;
  /** When the embedded simulator stands in for the upstream: its videos, served on the gateway's port. */
  simulatorVideos?: ServeSimulatorVideo | undefined;
}

export async function composeGateway(config: Config, logger: Logger, upstreamConfig: UpstreamConfig & { apiKey: string }, site: GatewaySite): Promise<Gateway> {
  // First, before anything holds a connection: a history or a video store that cannot open stops the start.
  const history = await openTaskHistory({ ...config.history, logger });
  const videoStore = await openVideoStore({ ...config.videos, dataDir: config.history.dataDir }).catch(async (error: unknown) => {
    await history.close();
    throw error;
  });
  logVideoStorage(config, logger, videoStore);
  const metrics = new GatewayMetrics();
  // Empty until the gateway listens (nothing asks before then).
  const publicOrigin = () => URL.parse(site.publicUrl())?.origin ?? '';
  const selfServedVideoOrigin = site.simulatorVideos ? publicOrigin : undefined;
  const upstream = new UpstreamClient(upstreamConfig, logger, metrics, { selfServedVideoOrigin });

  // Shared state: in this process, or in Redis when REDIS_URL is set so replicas share it.
  const redis = config.redis ? connectRedis(config.redis, logger) : undefined;
  if (redis) metrics.trackRedis(() => redis.isReady());
  const taskCache = createTaskResultCache(config.taskCache);
  // Copies are made from the upstream's own origin (and the embedded simulator's, on this gateway's
  // port) even on loopback; any other host must be public (download-address-guard.ts).
  const downloader = createVideoDownloader({
    limits: { maxBytes: config.videos.copyMaxBytes, timeoutMs: config.videos.copyTimeoutMs, maxRedirects: VIDEO_DOWNLOAD_MAX_REDIRECTS },
    trustedOrigins: () => [new URL(upstreamConfig.baseUrl).origin, ...(selfServedVideoOrigin ? [selfServedVideoOrigin()] : [])],
  });
  const copier = new VideoCopier({
    history,
    store: videoStore,
    downloader,
    // The reader is made below (it tells the copier what it reads); the copier reads only once started.
    readTask: (taskId, fresh) => tasks.read(taskId, { fresh }),
    config: config.videos,
    logger,
    onAttempt: (outcome) => metrics.videoCopyAttempt(outcome),
  });
  // A task seen to succeed is due for copying once its status is in the history: copy it at once.
  const statusNotes = new TaskStatusNotes(history, logger, (snapshot) => copier.offer(snapshot));
  const tasks = new TaskReader(
    upstream,
    taskCache,
    redis && config.taskCache.maxEntries > 0 ? new RedisTaskCache(redis, config.taskCache, logger) : undefined,
    // Every upstream read notes the task's status in the history (never waiting for it).
    (snapshot) => statusNotes.note(snapshot),
  );
  // Link secrets live in the history, so every replica, and every restart, signs alike.
  const linkSecret = async (name: string) => Buffer.from(await history.sharedSecret(name, () => randomBytes(32).toString('base64url')), 'base64url');
  const videoLinks = new VideoLinks(await linkSecret(VIDEO_LINK_SECRET_NAME), site.publicUrl, config.videos.linkTtlSeconds);
  const watchLinks = new WatchLinks(await linkSecret(WATCH_LINK_SECRET_NAME), site.publicUrl, config.streams.watchLinkTtlSeconds);
  // A lease lasts one capped poll interval: a dead holder's task is taken over within about two.
  const pollCoordinator = redis ? new RedisPollCoordinator(redis, config.live.pollMaxIntervalMs, logger) : soloPolling;
  const localBuckets = new LocalTokenBuckets(config.createLimits);
  // Signed-in users' own buckets (keys `user:<hash>`, never a tenant name), beside the tenants'.
  const userShape = { perMinute: config.createLimits.userPerMinute, burst: config.createLimits.userBurst };
  const localUserBuckets = new LocalTokenBuckets(userShape);
  const admission = new CreateAdmission(
    config.createLimits,
    redis ? new RedisTokenBuckets(redis, config.createLimits, localBuckets, logger) : localBuckets,
    redis ? new RedisTokenBuckets(redis, userShape, localUserBuckets, logger) : localUserBuckets,
  );
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

  // Spending is counted in Redis when replicas share it (atomic across them), else in this process.
  const budgetLedger = redis ? new RedisBudgetLedger(redis, logger) : new InMemoryBudgetLedger();
  const live = new TaskWatchHub(tasks, config.live, logger, pollCoordinator);
  metrics.trackLive(live);
  // Every task created here is followed to its end through the same pollers as subscriptions.
  const follower = new TaskFollower(live, history, config.follow, logger);
  metrics.trackFollowing(follower);
  metrics.trackVideoCopies(copier);
  const retention = new RetentionSweep({
    history,
    store: videoStore,
    config: config.videos,
    logger,
    onRemoved: (taskId) => follower.unfollow(taskId),
  });
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
    budgets: { ledger: budgetLedger, config: config.budgets },
  });

  // Ids are signed whenever there are client keys (config refuses keys without a secret).
  const idSecret = config.auth.clients || config.auth.jwtProviders ? config.auth.idSecret : undefined;
  const idCodec = idSecret !== undefined ? new SignedTaskIds(idSecret) : verbatimTaskIds;
  const context = createContextFactory({
    maxTaskReads: config.graphqlLimits.maxTaskReads,
    onTaskLookup: (hit) => metrics.cacheLookup('task', hit),
    ids: idCodec,
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
    removeCopies: (owner, taskId) => videoStore.delete(allCopyKeysOf(owner, taskId)),
    videoLinks,
    watchLinks,
    usage: (tenant, user) => budgetLedger.usage(tenant ?? '', user ?? undefined, budgetLimitsFor(config.budgets, tenant)),
  });
  const maskError = createErrorMasker(logger);

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
    maskError,
    responses,
    logger,
    metrics,
    // Not ready while draining, nor while a configured Redis does not answer, nor while the upstream keeps timing out.
    isReady: () => !draining && (redis?.isReady() ?? true) && !upstream.isDegraded(),
    shutdown: shutdown.signal,
  });

  const keyring = config.auth.clients ? new ClientKeyring(config.auth.clients) : undefined;
  const jwtVerifier = config.auth.jwtProviders
    ? new JwtVerifier(config.auth.jwtProviders, { jwksCooldownMs: config.auth.jwksRefetchFloorMs, clockToleranceSeconds: config.auth.jwtClockToleranceSeconds })
    : undefined;
  const authenticator = new Authenticator(
    keyring,
    jwtVerifier && { looksLikeToken: (bearer) => JwtVerifier.looksLikeJwt(bearer), verify: (token) => jwtVerifier.verify(token) },
    (refusal) => logger.info({ component: 'authentication', ...refusal }, 'a bearer token was refused'),
  );
  if (authenticator.open) logger.warn('GATEWAY_API_KEYS is not set: the gateway is open to anyone who can reach it (fine for local development)');
  const handle = createGraphQLRequestHandler({
    yoga,
    responses,
    maxBodyBytes: config.limits.requestMaxBodyBytes,
    authenticator,
    metrics,
    metricsToken: config.auth.metricsToken,
    corsOrigins: config.exposure.corsOrigins,
    graphiql: config.exposure.graphiql,
    maxVariableValues: config.graphqlLimits.maxVariableValues,
    simulatorVideos: site.simulatorVideos,
    storedVideos: { links: videoLinks, store: videoStore },
    uploadLimits: { maxFileBytes: config.limits.imageMaxDecodedBytes, maxFiles: config.limits.uploadMaxFiles, maxFieldBytes: config.limits.uploadMaxFieldBytes },
    watchLinks: {
      links: watchLinks,
      maxStreamsPerLink: config.streams.watchLinkMaxStreams,
      // The taskUpdates subscription itself, run for the link's view of the task (as a WebSocket runs it).
      watch: (scope, taskId, address, signal) =>
        runWatchSubscription({ schema, contextValue: context({ caller: { ...scope, address }, signal }), id: idCodec.toPublic(taskId, scope), maskError }),
    },
  });

  return {
    upstream,
    live,
    yoga,
    authenticator,
    persistedDocuments,
    handle,
    startFollowing() {
      follower.start();
      copier.start();
      retention.start();
    },
    startDraining() {
      draining = true;
      shutdown.abort();
      // Before the hub ends its pollers: a following cut by shutdown is not an error to retry.
      void follower.close();
      void copier.close();
      void retention.close();
    },
    async close() {
      // No scan of the history may still run when it closes, nor a copy write to it.
      await follower.close();
      await copier.close();
      await retention.close();
      await downloader.close();
      await pollCoordinator.close();
      await redis?.close();
      // Status notes still being written land before the store closes.
      await statusNotes.settled();
      await history.close();
      await videoStore.close();
    },
  };
}

/** Says where copies go, and warns when replicas sharing PostgreSQL would each keep their own. */
function logVideoStorage(config: Config, logger: Logger, store: VideoStore): void {
  if (config.videos.copyConcurrency === 0) logger.warn('VIDEO_COPY_CONCURRENCY=0: videos are not copied; their links die with the upstream URL');
  if (store.kind === 'folder' && config.history.databaseUrl !== undefined) {
    logger.warn('DATABASE_URL is set but VIDEO_STORAGE_URL is not: each replica keeps video copies on its own disk, and links work only on the replica that made them');
  }
}
