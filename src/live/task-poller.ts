// One task's poller: reads the upstream at the adaptive interval (poll-interval.ts), hands every
// change to the task's watchers, and stops when the task ends, when its last watcher leaves (a read
// under way is abandoned with it) or after too many failures in a row. Across replicas only the
// lease holder reads; the others take what it publishes (poll-coordinator.ts).
import type { LiveConfig } from '../config.js';
import { DomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import { isNewer } from '../tasks/snapshot-order.js';
import type { TaskReader } from '../tasks/task-reader.js';
import { isTerminalStatus, type TaskSnapshot } from '../upstream/task-snapshot.js';
import type { PollCoordinator } from './poll-coordinator.js';
import { nextPollDelayMs } from './poll-interval.js';

export function taskNotFoundError(): Error {
  return new DomainError('TASK_NOT_FOUND', 'Task not found.');
}

export type TaskUpdate = { kind: 'state'; task: TaskSnapshot } | { kind: 'error'; error: Error };

export interface Watcher {
  push(update: TaskUpdate): void;
  end(): void;
}

function sameState(a: TaskSnapshot, b: TaskSnapshot): boolean {
  return (
    a.status === b.status &&
    a.upstreamStatus === b.upstreamStatus &&
    a.progressPercent === b.progressPercent &&
    a.etaSeconds === b.etaSeconds &&
    a.failureReason === b.failureReason &&
    a.videos.map((video) => video.url).join('\n') === b.videos.map((video) => video.url).join('\n')
  );
}

export interface PollerDependencies {
  reader: TaskReader;
  coordinator: PollCoordinator;
  config: LiveConfig;
  logger: Logger;
}

export class TaskPoller {
  readonly #id: string;
  readonly #reader: TaskReader;
  readonly #coordinator: PollCoordinator;
  readonly #config: LiveConfig;
  readonly #logger: Logger;
  readonly #onStop: () => void;
  readonly #watchers = new Set<Watcher>();
  #last: TaskSnapshot | undefined;
  #failures = 0;
  #unchangedPolls = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Fires on stop, so a read under way is abandoned when no one watches any more. */
  readonly #stopping = new AbortController();

  constructor(id: string, deps: PollerDependencies, onStop: () => void) {
    this.#id = id;
    this.#reader = deps.reader;
    this.#coordinator = deps.coordinator;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#onStop = onStop;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /**
   * `firstLook`: 'cached' (a subscriber's poller) may answer from the cache, so a watcher gets the
   * current state at once; 'leased' (a poller the server starts to follow a task nobody watches)
   * reads the upstream only if it holds the lease, like every later look, so replicas that all pick
   * up the same unfinished task still read it once between them.
   */
  start(firstLook: 'cached' | 'leased' = 'cached'): void {
    void this.#poll(firstLook === 'leased');
  }

  add(watcher: Watcher): void {
    this.#watchers.add(watcher);
    if (this.#last) watcher.push({ kind: 'state', task: this.#last });
  }

  remove(watcher: Watcher): void {
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0) this.stop();
  }

  /** Ends every watcher's stream, after an optional last event. */
  finish(last?: TaskUpdate): void {
    for (const watcher of this.#watchers) {
      if (last) watcher.push(last);
      watcher.end();
    }
    this.#watchers.clear();
    this.stop();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stopping.abort();
    this.#coordinator.release(this.#id);
    this.#onStop();
  }

  /** A state another replica read: taken unless this poller already has a newer one. */
  apply(snapshot: TaskSnapshot): void {
    if (this.#stopped || !isNewer(snapshot, this.#last)) return;
    this.#failures = 0;
    this.#accept(snapshot);
  }

  async #poll(fresh: boolean): Promise<void> {
    // Across replicas only the lease holder reads the upstream; the others hear its results over
    // pub/sub. A message can be lost while a connection is re-established, so they also look at
    // the shared cache (never the upstream): a lost final state is still seen at the next look.
    if (fresh && !(await this.#coordinator.mayPoll(this.#id))) {
      const shared = await this.#reader.peekShared(this.#id);
      if (this.#stopped) return;
      if (shared && isNewer(shared, this.#last)) this.#accept(shared);
      else this.#schedule();
      return;
    }
    if (this.#stopped) return;
    let snapshot: TaskSnapshot | null;
    try {
      snapshot = await this.#reader.read(this.#id, { fresh, signal: this.#stopping.signal });
    } catch (error) {
      if (this.#stopped) return;
      this.#failures++;
      this.#logger.warn({ taskId: this.#id, failures: this.#failures, err: error }, 'task poll failed');
      if (this.#failures >= this.#config.maxConsecutiveFailures) {
        this.finish({ kind: 'error', error: error instanceof Error ? error : new Error(String(error)) });
        return;
      }
      this.#schedule();
      return;
    }
    if (this.#stopped) return;
    this.#failures = 0;
    if (snapshot === null) {
      this.finish({ kind: 'error', error: taskNotFoundError() });
      return;
    }
    // Another replica's newer state may have arrived while this read was under way.
    if (this.#last && isNewer(this.#last, snapshot)) {
      this.#schedule();
      return;
    }
    if (fresh) this.#coordinator.publish(snapshot);
    this.#accept(snapshot);
  }

  #accept(snapshot: TaskSnapshot): void {
    if (this.#last && sameState(this.#last, snapshot)) {
      this.#unchangedPolls++;
    } else {
      this.#unchangedPolls = 0;
      this.#last = snapshot;
      for (const watcher of this.#watchers) watcher.push({ kind: 'state', task: snapshot });
    }
    if (isTerminalStatus(snapshot.status)) {
      this.finish();
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const delay = nextPollDelayMs(this.#last, this.#unchangedPolls, this.#config);
    this.#timer = setTimeout(() => void this.#poll(true), delay);
  }
}
