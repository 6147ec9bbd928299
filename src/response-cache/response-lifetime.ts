// How long a whole query response may be reused: as long as the staleest task in it may be served
// from the result cache. Collected per request as the DataLoader reads tasks.
import type { TaskCacheConfig } from '../config.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { cacheLifetimeMs } from '../tasks/task-result-cache.js';

export class ResponseLifetime {
  readonly #config: TaskCacheConfig;
  #expiresAt = Number.POSITIVE_INFINITY;
  #reads = 0;

  constructor(config: TaskCacheConfig) {
    this.#config = config;
  }

  noteRead(snapshot: TaskSnapshot | null): void {
    this.#reads++;
    // An unknown id is not cached: it may be a task the upstream has not made visible yet.
    const expiresAt =
      snapshot === null ? 0 : snapshot.fetchedAt.getTime() + cacheLifetimeMs(snapshot, this.#config, snapshot.fetchedAt.getTime());
    this.#expiresAt = Math.min(this.#expiresAt, expiresAt);
  }

  /** The response read something the task caches know nothing about (the task history): never reuse it. */
  forbidReuse(): void {
    this.#expiresAt = 0;
  }

  /** Milliseconds the response may still be served; 0 when it read no task or must not be reused. */
  remainingMs(now: number = Date.now()): number {
    return this.#reads === 0 ? 0 : Math.max(0, this.#expiresAt - now);
  }
}
