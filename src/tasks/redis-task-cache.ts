// Task results in Redis, so a replica answers a task another replica already read. Same lifetimes
// as in-process (pending ≤ TASK_CACHE_PENDING_TTL_MS, terminal until shortly before the video URL
// expires); an older read never replaces a newer one. Redis trouble only costs upstream reads.
import type { TaskCacheConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { SharedRedis } from '../redis-connection.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { snapshotFromJson, snapshotToJson } from './snapshot-json.js';
import { cacheLifetimeMs, type SharedTaskCache } from './task-result-cache.js';


// KEYS[1]: the entry. ARGV: JSON, fetchedAt (ms), lifetime (ms). Keeps the newer of the two reads.
const SET_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local at = cjson.decode(current).fetchedAt
  if at and at > ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

export class RedisTaskCache implements SharedTaskCache {
  readonly #redis: SharedRedis;
  readonly #config: TaskCacheConfig;
  readonly #logger: Logger;

  constructor(redis: SharedRedis, config: TaskCacheConfig, logger: Logger) {
    this.#redis = redis;
    this.#config = config;
    this.#logger = logger.child({ component: 'shared-task-cache' });
  }

  #key(id: string): string {
    return `${this.#redis.prefix}task:${id}`;
  }

  async get(id: string): Promise<TaskSnapshot | undefined> {
    if (!this.#redis.isReady()) return undefined;
    try {
      const raw = await this.#redis.client.get(this.#key(id));
      return raw === null ? undefined : snapshotFromJson(raw);
    } catch (error) {
      this.#logger.debug({ err: { message: (error as Error).message } }, 'shared task cache read failed');
      return undefined;
    }
  }

  async set(snapshot: TaskSnapshot): Promise<void> {
    const ttl = cacheLifetimeMs(snapshot, this.#config);
    if (ttl <= 0 || !this.#redis.isReady()) return;
    try {
      // ISO strings of one format compare in time order.
      await this.#redis.client.eval(SET_IF_NEWER, 1, this.#key(snapshot.id), snapshotToJson(snapshot), snapshot.fetchedAt.toISOString(), String(ttl));
    } catch (error) {
      this.#logger.debug({ err: { message: (error as Error).message } }, 'shared task cache write failed');
    }
  }
}
