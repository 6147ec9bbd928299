// Status-aware cache of task reads. Pending results live for a very short time (they change);
// terminal ones until shortly before their signed video URL expires; failures for a bounded time.
import { LRUCache } from 'lru-cache';
import type { TaskCacheConfig } from '../config.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';

/** The store behind reads and pollers; an in-memory one today, a shared one can follow. */
export interface TaskResultCache {
  get(id: string): TaskSnapshot | undefined;
  set(snapshot: TaskSnapshot): void;
}

/** How long a snapshot may be served from cache; 0 means "do not cache". */
export function cacheLifetimeMs(snapshot: TaskSnapshot, config: TaskCacheConfig, now: number = Date.now()): number {
  switch (snapshot.status) {
    case 'SUCCEEDED': {
      if (snapshot.videos.length === 0) return config.pendingTtlMs;
      const earliestExpiry = Math.min(...snapshot.videos.map((video) => video.expiresAt.getTime()));
      return Math.max(0, earliestExpiry - config.urlExpiryMarginMs - now);
    }
    case 'FAILED':
      return config.failedTtlMs;
    default:
      return config.pendingTtlMs;
  }
}

export class InMemoryTaskResultCache implements TaskResultCache {
  readonly #entries: LRUCache<string, TaskSnapshot>;
  readonly #config: TaskCacheConfig;

  constructor(config: TaskCacheConfig) {
    this.#config = config;
    this.#entries = new LRUCache<string, TaskSnapshot>({ max: config.maxEntries, ttlAutopurge: false, allowStale: false });
  }

  get(id: string): TaskSnapshot | undefined {
    return this.#entries.get(id);
  }

  set(snapshot: TaskSnapshot): void {
    const ttl = cacheLifetimeMs(snapshot, this.#config);
    // An older read must never replace a newer one (reads can finish out of order).
    const current = this.#entries.get(snapshot.id);
    if (current && current.fetchedAt > snapshot.fetchedAt) return;
    if (ttl <= 0) {
      this.#entries.delete(snapshot.id);
      return;
    }
    this.#entries.set(snapshot.id, snapshot, { ttl });
  }
}

/** Used when TASK_CACHE_MAX_ENTRIES is 0. */
class DisabledTaskResultCache implements TaskResultCache {
  get(): undefined {
    return undefined;
  }

  set(): void {}
}

export function createTaskResultCache(config: TaskCacheConfig): TaskResultCache {
  return config.maxEntries === 0 ? new DisabledTaskResultCache() : new InMemoryTaskResultCache(config);
}
