// Where the gateway's state lives: in this process, or in Redis when REDIS_URL is set so replicas
// share it. The one place that chooses; everything else depends on the interfaces.
import type { Config } from '../config.js';
import { CreateAdmission } from '../create-video/create-admission.js';
import { LocalTokenBuckets, RedisTokenBuckets } from '../create-video/create-rate-limit.js';
import { InMemoryIdempotencyStore, type IdempotencyStore } from '../create-video/idempotency.js';
import { RedisIdempotencyStore } from '../create-video/redis-idempotency-store.js';
import { soloPolling, type PollCoordinator } from '../live/poll-coordinator.js';
import { RedisPollCoordinator } from '../live/redis-poll-coordinator.js';
import { RedisTaskCache } from '../live/redis-task-cache.js';
import { createTaskResultCache, type TaskResultCache } from '../live/task-result-cache.js';
import { TaskReader, type TaskSource } from '../live/task-reader.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import { connectRedis } from './redis-connection.js';

export interface StateStores {
  tasks: TaskReader;
  /** This process's task result cache (for /metrics). */
  taskCache: TaskResultCache;
  pollCoordinator: PollCoordinator;
  createAdmission: CreateAdmission;
  idempotency: IdempotencyStore;
  /** False while a configured Redis does not answer; always true without one. */
  isSharedStateReady(): boolean;
  close(): Promise<void>;
}

export function createStateStores(config: Config, source: TaskSource, metrics: GatewayMetrics, logger: Logger): StateStores {
  const redis = config.redis ? connectRedis(config.redis, logger) : undefined;
  if (redis) metrics.trackRedis(() => redis.isReady());

  const taskCache = createTaskResultCache(config.taskCache);
  const tasks = new TaskReader(
    source,
    taskCache,
    redis && config.taskCache.maxEntries > 0 ? new RedisTaskCache(redis, config.taskCache, logger) : undefined,
  );
  // A lease lasts one capped poll interval: a dead holder's task is taken over within about two.
  const pollCoordinator = redis ? new RedisPollCoordinator(redis, config.live.pollMaxIntervalMs, logger) : soloPolling;
  const localBuckets = new LocalTokenBuckets(config.createLimits);
  const createAdmission = new CreateAdmission(
    config.createLimits,
    redis ? new RedisTokenBuckets(redis, config.createLimits, localBuckets, logger) : localBuckets,
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

  return {
    tasks,
    taskCache,
    pollCoordinator,
    createAdmission,
    idempotency,
    isSharedStateReady: () => redis?.isReady() ?? true,
    async close() {
      await pollCoordinator.close();
      await redis?.close();
    },
  };
}
