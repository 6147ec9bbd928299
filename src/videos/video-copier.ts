// Copies every succeeded task's videos into the gateway's video store before the upstream's signed
// URLs die, so `Video.url` can switch to a gateway link that outlives them. The history is the queue
// and the ledger: reaching SUCCEEDED makes a task due (noteStatus), a claim in the history leases it
// to one process at a time (across replicas too), a finished copy is recorded in the same commit
// that marks the task copied, and a failure makes it due again after a back-off. Nothing here is
// only in memory, so a process killed mid-copy loses nothing: once its lease runs out, the next scan
// (of any replica, or of this one restarted) claims the task and copies it again from the start.
//
// Copying never holds up a read: it runs beside the reads, and until it is done a task's videos are
// the upstream's links (`stored: false`).
import { errorCodeOf, firstLineOf } from '../error-details.js';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { VideoConfig } from '../config.js';
import type { CopyClaim, TaskHistory, VideoCopy } from '../history/task-history.js';
import type { Logger } from '../logger.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { allCopyKeysOf, copyKeyOf, MAX_COPIED_VIDEOS_PER_TASK } from './copy-keys.js';
import { VideoDownloadError, type VideoDownloader } from './video-download.js';
import type { VideoStore } from './video-store.js';

/** Tasks claimed per query when scanning; at most the free copy slots. */
const CLAIMS_PER_TASK_OFFER = 10;
/** The first retry waits this long, then each one twice the last (up to the configured maximum). */
const FIRST_RETRY_DELAY_MS = 5_000;
/** A failure's message as a log line carries it (download errors never hold the signed URL). */
const MAX_REASON_CHARS = 300;
/** A link that dies sooner than this is not worth starting a download with: read the task afresh. */
const LINK_LIFE_NEEDED_MS = 60_000;

/** How the copier reads a task: cached when `fresh` is false, from the upstream when true. */
export type ReadTaskForCopy = (taskId: string, fresh: boolean) => Promise<TaskSnapshot | null>;

export interface VideoCopierParts {
  history: Pick<TaskHistory, 'claimCopies' | 'completeCopies' | 'deferCopies'>;
  store: VideoStore;
  downloader: VideoDownloader;
  readTask: ReadTaskForCopy;
  config: Pick<VideoConfig, 'copyConcurrency' | 'copyTimeoutMs' | 'copyRescanIntervalMs' | 'copyRetryMaxDelayMs'>;
  logger: Logger;
  /** Told each finished attempt, for metrics. */
  onAttempt?: (outcome: 'stored' | 'failed') => void;
}

export class VideoCopier {
  readonly #parts: VideoCopierParts;
  readonly #logger: Logger;
  /** Ends downloads under way at shutdown. */
  readonly #closing = new AbortController();
  readonly #running = new Set<Promise<void>>();
  /** Copy slots taken (by copies running, or claims being made). */
  #busy = 0;
  /** A due copy may be waiting in the history for a free slot. */
  #dueMayWait = false;
  #scanning: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(parts: VideoCopierParts) {
    this.#parts = parts;
    this.#logger = parts.logger.child({ component: 'video-copier' });
  }

  get #slots(): number {
    return this.#parts.config.copyConcurrency;
  }

  /** Copies running now. */
  get activeCount(): number {
    return this.#running.size;
  }

  /** Claims the copies already due (left by a restart, retries) now, and scans for more on a timer. */
  start(): void {
    if (this.#closing.signal.aborted || this.#slots === 0 || this.#timer) return;
    this.#timer = setInterval(() => this.#scanSoon(), this.#parts.config.copyRescanIntervalMs);
    this.#timer.unref();
    this.#scanSoon();
  }

  /** A read has just seen this task succeed (and noted it in the history): copy its videos now. */
  offer(snapshot: TaskSnapshot): void {
    if (this.#closing.signal.aborted || this.#slots === 0 || snapshot.status !== 'SUCCEEDED') return;
    if (this.#busy >= this.#slots) {
      this.#dueMayWait = true;
      return;
    }
    void this.#claimAndCopy(snapshot.id, snapshot);
  }

  /**
   * Stops: downloads under way end, and their tasks are made due again at once (a restart or
   * another replica need not wait out the lease). Resolves once nothing runs.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    clearInterval(this.#timer);
    await this.#scanning;
    await Promise.allSettled([...this.#running]);
  }

  #scanSoon(): void {
    if (this.#scanning) {
      this.#dueMayWait = true;
      return;
    }
    const scan = (async () => {
      do {
        this.#dueMayWait = false;
        const claimed = await this.#claimAndCopy(undefined, undefined);
        if (claimed === 0) break;
      } while (!this.#closing.signal.aborted && this.#busy < this.#slots);
    })().finally(() => {
      this.#scanning = undefined;
      // An offer that came while this scan's claim held every free slot found none and left it to
      // us: look again now rather than at the next rescan.
      if (this.#dueMayWait && !this.#closing.signal.aborted && this.#busy < this.#slots) this.#scanSoon();
    });
    this.#scanning = scan;
  }

  /** Claims due copies (of one task, or any) for the free slots and starts them; returns how many. */
  async #claimAndCopy(taskId: string | undefined, snapshot: TaskSnapshot | undefined): Promise<number> {
    const free = Math.min(this.#slots - this.#busy, taskId === undefined ? this.#slots : CLAIMS_PER_TASK_OFFER);
    if (free <= 0) return 0;
    // Taken before the claim is asked for, so a burst of offers cannot claim more than there are slots.
    this.#busy += free;
    let claims: CopyClaim[] = [];
    try {
      const now = Date.now();
      claims = await this.#parts.history.claimCopies({
        now: new Date(now),
        // One download may take the whole timeout, and the store's write about as long again.
        leaseUntil: new Date(now + 2 * this.#parts.config.copyTimeoutMs),
        limit: free,
        taskId,
      });
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not claim video copies in the history; the next scan tries again');
    } finally {
      this.#busy -= free - claims.length;
    }
    for (const claim of claims) {
      const run = this.#copy(claim, snapshot).finally(() => {
        this.#busy -= 1;
        this.#running.delete(run);
        if (this.#dueMayWait && !this.#closing.signal.aborted) this.#scanSoon();
      });
      this.#running.add(run);
    }
    return claims.length;
  }

  async #copy(claim: CopyClaim, offered: TaskSnapshot | undefined): Promise<void> {
    const { owner, taskId, attempts } = claim;
    try {
      const snapshot = await this.#snapshotToCopy(taskId, offered);
      const copies: VideoCopy[] = [];
      for (const [index, video] of snapshot.videos.slice(0, MAX_COPIED_VIDEOS_PER_TASK).entries()) {
        copies.push(await this.#copyOne(owner, taskId, index, video.url));
      }
      const recorded = await this.#parts.history.completeCopies(owner, taskId, copies);
      if (!recorded) {
        // Deleted while we copied: what we stored must go too.
        await this.#parts.store.delete(allCopyKeysOf(owner, taskId));
        return;
      }
      this.#parts.onAttempt?.('stored');
      this.#logger.info({ taskId, videos: copies.length, bytes: copies.reduce((sum, copy) => sum + copy.bytes, 0), attempts }, 'videos copied');
    } catch (error) {
      await this.#failed(claim, error);
    }
  }

  async #snapshotToCopy(taskId: string, offered: TaskSnapshot | undefined): Promise<TaskSnapshot> {
    let snapshot = offered ?? (await this.#parts.readTask(taskId, false));
    // The upstream signs each read's links anew: a stale one is replaced by a fresh read.
    if (snapshot && snapshot.videos.some((video) => video.expiresAt.getTime() - Date.now() < LINK_LIFE_NEEDED_MS)) {
      snapshot = await this.#parts.readTask(taskId, true);
    }
    if (snapshot === null) throw new CopyFailure('TASK_UNKNOWN', 'the upstream no longer knows the task');
    if (snapshot.status !== 'SUCCEEDED') throw new CopyFailure('NOT_SUCCEEDED', `the task reads as ${snapshot.status}`);
    return snapshot;
  }

  async #copyOne(owner: string, taskId: string, index: number, url: string): Promise<VideoCopy> {
    const { store, downloader } = this.#parts;
    const partial = join(store.scratchDirectory, `${randomUUID()}.partial`);
    try {
      const downloaded = await downloader.download(url, partial, this.#closing.signal);
      const key = copyKeyOf(owner, taskId, index, downloaded.format);
      // A retry writes the same name: an attempt that died after this line left nothing behind.
      await store.put(key, partial, downloaded.contentType);
      return { index, key, format: downloaded.format, bytes: downloaded.bytes, storedAt: new Date() };
    } finally {
      await rm(partial, { force: true });
    }
  }

  async #failed(claim: CopyClaim, error: unknown): Promise<void> {
    const { owner, taskId, attempts } = claim;
    const shuttingDown = this.#closing.signal.aborted;
    const retryable = !(error instanceof VideoDownloadError) || error.retryable;
    // Shutdown: due again at once. A failure that will not change by itself: the longest wait.
    const delayMs = shuttingDown
      ? 0
      : retryable
        ? Math.min(this.#parts.config.copyRetryMaxDelayMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(attempts - 1, 30))
        : this.#parts.config.copyRetryMaxDelayMs;
    try {
      await this.#parts.history.deferCopies(owner, taskId, new Date(Date.now() + delayMs));
    } catch (deferError) {
      // The lease runs out by itself; the task is due again then.
      this.#logger.warn({ err: deferError, taskId }, 'could not reschedule a video copy; it is retried once its claim runs out');
    }
    if (shuttingDown) return;
    this.#parts.onAttempt?.('failed');
    this.#logger.warn({ taskId, code: errorCodeOf(error), reason: firstLineOf(error, MAX_REASON_CHARS), attempts, retryInMs: delayMs }, 'copying videos failed; it will be retried');
  }
}

/** A copy that cannot start for a reason of the task's own. */
class CopyFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
