// How long a whole query response may be reused: as long as the staleest task in it may be served
// from the result cache. Collected per request as the DataLoader reads tasks.
import type { TaskCacheConfig } from '../config.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { cacheLifetimeMs } from '../tasks/task-result-cache.js';
import type { PlayableVideo } from '../videos/playable-videos.js';

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

  /**
   * The videos a response hands out. A stored copy's link is reused until shortly before it expires,
   * as an upstream link is. A video not stored yet will switch to its copy soon, in the background:
   * such a response is reused no longer than a pending task's, so the switch shows as soon.
   */
  noteVideos(videos: readonly PlayableVideo[], now: number = Date.now()): void {
    for (const video of videos) {
      const until = video.stored ? video.expiresAt.getTime() - this.#config.urlExpiryMarginMs : now + this.#config.pendingTtlMs;
      this.#expiresAt = Math.min(this.#expiresAt, until);
    }
  }

  /** The response hands out a signed link: reused no longer than until shortly before it expires. */
  noteLinkExpiry(expiresAt: Date): void {
    this.#expiresAt = Math.min(this.#expiresAt, expiresAt.getTime() - this.#config.urlExpiryMarginMs);
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
