// Removes records and video copies older than VIDEO_RETENTION_DAYS, now and then (at start, then every
// VIDEO_RETENTION_SWEEP_INTERVAL_MS). For each expired task the objects go first and the record after:
// a crash in between leaves a record whose objects are gone, which the next sweep removes; the other
// order could leave objects that nothing names any more. Replicas may sweep at once: every step is
// idempotent (deleting what is gone is not an error).
import type { VideoConfig } from '../config.js';
import type { TaskHistory } from '../history/task-history.js';
import type { Logger } from '../logger.js';
import { allCopyKeysOf } from './copy-keys.js';
import type { VideoStore } from './video-store.js';

/** Expired records handled per history query. */
const BATCH = 200;
const DAY_MS = 86_400_000;

export interface RetentionSweepParts {
  history: Pick<TaskHistory, 'listExpired' | 'delete'>;
  store: Pick<VideoStore, 'delete'>;
  config: Pick<VideoConfig, 'retentionDays' | 'retentionSweepIntervalMs'>;
  logger: Logger;
  /** Told the upstream id of each task removed (its following stops). */
  onRemoved?: (taskId: string) => void;
}

export class RetentionSweep {
  readonly #parts: RetentionSweepParts;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  #closed = false;

  constructor(parts: RetentionSweepParts) {
    this.#parts = parts;
    this.#logger = parts.logger.child({ component: 'retention-sweep' });
  }

  start(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setInterval(() => void this.sweep(), this.#parts.config.retentionSweepIntervalMs);
    this.#timer.unref();
    void this.sweep();
  }

  /** One sweep (joining one under way); resolves with the number of tasks removed. */
  sweep(now = Date.now()): Promise<number> {
    if (this.#closed) return Promise.resolve(0);
    this.#sweeping ??= this.#sweepOnce(now).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  async #sweepOnce(now: number): Promise<number> {
    const { history, store, config } = this.#parts;
    const before = new Date(now - config.retentionDays * DAY_MS);
    let removed = 0;
    try {
      for (;;) {
        const expired = await history.listExpired(before, BATCH);
        for (const { owner, taskId } of expired) {
          if (this.#closed) return removed;
          await store.delete(allCopyKeysOf(owner, taskId));
          if (await history.delete(owner, taskId)) this.#parts.onRemoved?.(taskId);
          removed++;
        }
        if (expired.length < BATCH || this.#closed) break;
      }
    } catch (error) {
      this.#logger.warn({ err: error, removed }, 'the retention sweep failed part-way; the next one goes on');
      return removed;
    }
    if (removed > 0) this.#logger.info({ removed, retentionDays: config.retentionDays }, 'removed tasks and video copies past retention');
    return removed;
  }
}
