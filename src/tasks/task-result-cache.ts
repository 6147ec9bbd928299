// Status-aware cache of task reads. Pending results live for a very short time (they change);
// terminal ones until shortly before their signed video URL expires; failures for a bounded time.
// Bounded in entries and in (estimated) bytes: an upstream answer may be up to
// UPSTREAM_MAX_RESPONSE_BYTES, so a count alone does not bound the memory.
import { LRUCache } from 'lru-cache';
import type { TaskCacheConfig } from '../config.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { isNewer } from './snapshot-order.js';

/** The store behind reads and pollers, in this process (a shared one sits behind it with Redis). */
export interface TaskResultCache {
  get(id: string): TaskSnapshot | undefined;
  set(snapshot: TaskSnapshot): void;
  /** Entries and their estimated bytes, for /metrics. */
  readonly size: number;
  readonly bytes: number;
}

/** Results other replicas fill too (Redis), asked after this process's own cache. */
export interface SharedTaskCache {
  get(id: string): Promise<TaskSnapshot | undefined>;
  set(snapshot: TaskSnapshot): Promise<void>;
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

// What a snapshot costs besides its strings: the object, its four Dates, the videos array and the
// cache's bookkeeping; and per video, its object and Date. Measured on Node 20 (heap growth per
// snapshot held, --expose-gc): ~680 bytes with no video and ~510 more per video with a 150-character
// URL. Strings are counted one byte a character, as V8 stores ASCII.
const SNAPSHOT_OVERHEAD_BYTES = 640;
const VIDEO_OVERHEAD_BYTES = 360;

/** An estimate of the memory one snapshot holds, cheap enough for every set (no serialising). */
export function snapshotSizeEstimate(snapshot: TaskSnapshot): number {
  let size =
    SNAPSHOT_OVERHEAD_BYTES +
    // The cache key is the snapshot's own id string, so the id is counted once.
    snapshot.id.length +
    snapshot.status.length +
    snapshot.upstreamStatus.length +
    (snapshot.failureReason?.length ?? 0);
  for (const video of snapshot.videos) size += VIDEO_OVERHEAD_BYTES + video.url.length + video.format.length;
  return size;
}

export class InMemoryTaskResultCache implements TaskResultCache {
  readonly #entries: LRUCache<string, TaskSnapshot>;
  readonly #config: TaskCacheConfig;

  constructor(config: TaskCacheConfig) {
    this.#config = config;
    this.#entries = new LRUCache<string, TaskSnapshot>({
      max: config.maxEntries,
      // A snapshot larger than the whole bound is not kept (lru-cache's maxEntrySize defaults to it).
      maxSize: config.maxBytes,
      sizeCalculation: snapshotSizeEstimate,
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  /** Entries held (expired ones included until they are next touched or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** The sum of the held snapshots' estimated sizes, never above `maxBytes`. */
  get bytes(): number {
    return this.#entries.calculatedSize;
  }

  get(id: string): TaskSnapshot | undefined {
    return this.#entries.get(id);
  }

  set(snapshot: TaskSnapshot): void {
    const ttl = cacheLifetimeMs(snapshot, this.#config);
    // An older read must never replace a newer one (reads can finish out of order).
    const current = this.#entries.get(snapshot.id);
    if (current && isNewer(current, snapshot)) return;
    if (ttl <= 0) {
      this.#entries.delete(snapshot.id);
      return;
    }
    this.#entries.set(snapshot.id, snapshot, { ttl });
  }
}

/** Used when TASK_CACHE_MAX_ENTRIES is 0. */
class DisabledTaskResultCache implements TaskResultCache {
  readonly size = 0;
  readonly bytes = 0;

  get(): undefined {
    return undefined;
  }

  set(): void {}
}

export function createTaskResultCache(config: TaskCacheConfig): TaskResultCache {
  return config.maxEntries === 0 ? new DisabledTaskResultCache() : new InMemoryTaskResultCache(config);
}
