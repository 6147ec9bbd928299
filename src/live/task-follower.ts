// Follows every task created through the gateway to its end, server-side, whether or not anyone
// watches, so its history status becomes SUCCEEDED or FAILED by itself (every upstream read notes
// the status: see TaskReader's onFetched). Following is one more watcher on the task's poller in
// the watch hub: a followed task that subscribers also watch is still read once per interval, at
// the same adaptive interval, and across replicas only the lease holder reads it.
//
// Bounds: at most FOLLOW_MAX_TASKS tasks at once. The history is the queue: a task that finds no
// place stays unfinished there and is picked up, oldest first, when a place frees or at the next
// rescan (every FOLLOW_RESCAN_INTERVAL_MS). The rescan also resumes tasks after a restart and
// picks up tasks other replicas created (should one die, the lease moves to a survivor).
//
// A following that ends in an error (the upstream no longer knows the task, or
// LIVE_MAX_CONSECUTIVE_FAILURES failed polls in a row) does not spin: the task rests, first for
// one rescan interval, doubling up to FOLLOW_RETRY_MAX_DELAY_MS, and is followed again by the first
// rescan after its rest. Nothing is written to the history for it: it stays unfinished there.
import { errorCodeOf } from '../error-details.js';
import { LRUCache } from 'lru-cache';
import type { FollowConfig } from '../config.js';
import type { HistoryCursor, TaskHistory, TaskRecord } from '../history/task-history.js';
import type { Logger } from '../logger.js';
import { isTerminalStatus, type TaskStatusValue } from '../upstream/task-snapshot.js';
import type { TaskUpdate, Watcher } from './task-poller.js';

/** Unfinished tasks read from the history per query. */
const SCAN_PAGE = 500;
/** Resting tasks remembered; one forgotten early is only retried sooner. */
const RESTING_MAX = 100_000;

/** What following needs of the watch hub. */
export interface FollowedTaskSource {
  follow(id: string, watcher: Watcher): (() => void) | undefined;
}

interface Following {
  /** Removes the watcher from the task's poller; undefined until the hub has taken it. */
  remove: (() => void) | undefined;
}

interface Rest {
  until: number;
  /** Followings in a row that ended in an error. */
  failures: number;
}

function cursorOf(record: TaskRecord): HistoryCursor {
  return { createdAtMs: record.createdAt.getTime(), taskId: record.taskId };
}

export class TaskFollower {
  readonly #hub: FollowedTaskSource;
  readonly #history: Pick<TaskHistory, 'listUnfinished'>;
  readonly #config: FollowConfig;
  readonly #logger: Logger;
  readonly #followed = new Map<string, Following>();
  readonly #resting = new LRUCache<string, Rest>({ max: RESTING_MAX });
  /** Where the next page of the history's unfinished tasks starts (oldest first). */
  #cursor: HistoryCursor | undefined;
  /** The history may hold unfinished tasks this process neither follows nor rests. */
  #storeMayHoldMore = false;
  #scanning: Promise<void> | undefined;
  #scanAgain = false;
  #rescanTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(hub: FollowedTaskSource, history: Pick<TaskHistory, 'listUnfinished'>, config: FollowConfig, logger: Logger) {
    this.#hub = hub;
    this.#history = history;
    this.#config = config;
    this.#logger = logger.child({ component: 'task-follower' });
  }

  /** Tasks followed now (each holds a watcher on its task's poller). */
  get followedCount(): number {
    return this.#followed.size;
  }

  /** Tasks whose following ended in an error, waiting out their rest. */
  get restingCount(): number {
    const now = Date.now();
    let count = 0;
    for (const rest of this.#resting.values()) if (rest.until > now) count++;
    return count;
  }

  /** Resumes the history's unfinished tasks now, and rescans it on a timer from then on. */
  start(): void {
    if (this.#closed || this.#config.maxTasks === 0 || this.#rescanTimer) return;
    this.#rescan();
    this.#rescanTimer = setInterval(() => this.#rescan(), this.#config.rescanIntervalMs);
    // Never the one thing that keeps the process alive.
    this.#rescanTimer.unref();
  }

  /** Follows a task (just created and recorded) to its end; beyond the cap it waits in the history. */
  follow(taskId: string): void {
    if (this.#closed || this.#config.maxTasks === 0) return;
    // Asked anew (a create replayed with its Idempotency-Key): no rest holds it back.
    this.#resting.delete(taskId);
    if (this.#followed.has(taskId)) return;
    if (this.#followed.size < this.#config.maxTasks) {
      this.#startFollowing(taskId);
      return;
    }
    this.#storeMayHoldMore = true;
  }

  /** Stops following a task (deleted from the history): its poller stops unless someone watches it. */
  unfollow(taskId: string): void {
    this.#resting.delete(taskId);
    const following = this.#followed.get(taskId);
    if (!following) return;
    this.#followed.delete(taskId);
    following.remove?.();
    this.#placeFreed();
  }

  /**
   * Stops following everything, marking nothing: the history keeps the tasks unfinished, and the
   * next start resumes them. Resolves once no scan of the history is under way.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#rescanTimer);
    const followings = [...this.#followed.values()];
    this.#followed.clear();
    for (const following of followings) following.remove?.();
    await this.#scanning;
  }

  #startFollowing(taskId: string): void {
    const following: Following = { remove: undefined };
    let lastStatus: TaskStatusValue | undefined;
    let failure: Error | undefined;
    const watcher: Watcher = {
      push: (update: TaskUpdate) => {
        if (update.kind === 'state') lastStatus = update.task.status;
        else failure = update.error;
      },
      end: () => this.#ended(taskId, following, lastStatus, failure),
    };
    this.#followed.set(taskId, following);
    following.remove = this.#hub.follow(taskId, watcher);
    // The hub is closed (shutdown under way): nothing to follow with.
    if (following.remove === undefined && this.#followed.get(taskId) === following) this.#followed.delete(taskId);
  }

  #ended(taskId: string, following: Following, lastStatus: TaskStatusValue | undefined, failure: Error | undefined): void {
    // Ends that follow an unfollow, a newer following of the same task, or shutdown change nothing.
    if (this.#closed || this.#followed.get(taskId) !== following) return;
    this.#followed.delete(taskId);
    if (lastStatus !== undefined && isTerminalStatus(lastStatus)) {
      this.#resting.delete(taskId);
    } else {
      const failures = (this.#resting.get(taskId)?.failures ?? 0) + 1;
      const restMs = Math.min(this.#config.retryMaxDelayMs, this.#config.rescanIntervalMs * 2 ** Math.min(failures - 1, 30));
      this.#resting.set(taskId, { until: Date.now() + restMs, failures });
      this.#logger.warn(
        { taskId, code: failure === undefined ? undefined : errorCodeOf(failure), failures, restMs },
        'following a task ended before its end; it rests, then is followed again',
      );
    }
    this.#placeFreed();
  }

  #placeFreed(): void {
    // Not from inside the poller's finish() that called us: start new pollers once it is done.
    if (this.#storeMayHoldMore) queueMicrotask(() => void this.#scan());
  }

  #rescan(): void {
    this.#storeMayHoldMore = true;
    void this.#scan();
  }

  /** One scan at a time; a reason to scan that comes up meanwhile runs another right after. */
  #scan(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#scanning) {
      this.#scanAgain = true;
      return this.#scanning;
    }
    const run = async () => {
      do {
        this.#scanAgain = false;
        await this.#scanOnce();
      } while (this.#scanAgain && !this.#closed);
    };
    const scanning = run().finally(() => {
      if (this.#scanning === scanning) this.#scanning = undefined;
    });
    this.#scanning = scanning;
    return scanning;
  }

  /**
   * Follows unfinished tasks from the history, from the cursor on, until the places are taken or
   * the history has been read to its end once from its start (wrapping around once if it began
   * midway).
   */
  async #scanOnce(): Promise<void> {
    if (!this.#storeMayHoldMore) return;
    let reachedFromStart = this.#cursor === undefined;
    for (;;) {
      if (this.#closed || this.#followed.size >= this.#config.maxTasks) return;
      let page: TaskRecord[];
      try {
        page = await this.#history.listUnfinished({ after: this.#cursor, limit: SCAN_PAGE });
      } catch (error) {
        // The next rescan tries again (#storeMayHoldMore stays set).
        this.#logger.warn({ err: error }, 'could not list unfinished tasks in the history; following them waits for the next rescan');
        return;
      }
      const now = Date.now();
      for (const record of page) {
        if (this.#closed || this.#followed.size >= this.#config.maxTasks) return;
        this.#cursor = cursorOf(record);
        const resting = (this.#resting.get(record.taskId)?.until ?? 0) > now;
        if (!resting && !this.#followed.has(record.taskId)) this.#startFollowing(record.taskId);
      }
      if (page.length < SCAN_PAGE) {
        this.#cursor = undefined;
        if (reachedFromStart) {
          this.#storeMayHoldMore = false;
          return;
        }
        reachedFromStart = true;
      }
    }
  }
}
