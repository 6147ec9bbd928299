// One shared poller per task id: every watcher of a task in this process shares its upstream reads.
// A poller starts with its first watcher and stops when the last one leaves or the task ends; a read
// it has under way is abandoned with it. Each owner (a tenant, or a caller address on an open
// gateway) may hold LIVE_MAX_SUBSCRIPTIONS_PER_TENANT watchers on LIVE_MAX_POLLERS_PER_TENANT tasks.
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import { DomainError } from '../domain-error.js';
import type { LiveConfig } from '../config.js';
import { requestScope } from '../request-scope.js';
import type { Logger } from '../logger.js';
import { isTerminalStatus, type TaskSnapshot } from '../upstream/task-snapshot.js';
import { soloPolling, type PollCoordinator } from './poll-coordinator.js';
import { nextPollDelayMs } from './poll-interval.js';
import type { TaskReader } from './task-reader.js';

export type TaskUpdate = { kind: 'state'; task: TaskSnapshot } | { kind: 'error'; error: Error };

interface Watcher {
  push(update: TaskUpdate): void;
  end(): void;
}

// A slow client keeps only the newest states; the last event (terminal state or error) survives.
const WATCHER_BUFFER = 16;

export function taskNotFoundError(): Error {
  return new DomainError('TASK_NOT_FOUND', 'Task not found.');
}

function tooManySubscriptionsError(message: string, limit: number, scope: 'tenant' | 'tasks'): Error {
  return new DomainError('TOO_MANY_SUBSCRIPTIONS', message, { limit, scope });
}

/** What one owner holds open: watchers, and how many of them watch each task. */
interface OwnerUsage {
  watchers: number;
  tasks: Map<string, number>;
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

interface PollerDependencies {
  reader: TaskReader;
  coordinator: PollCoordinator;
  config: LiveConfig;
  logger: Logger;
}

class TaskPoller {
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

  start(): void {
    // The first look may come from the cache: a watcher gets the current state at once.
    void this.#poll(false);
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
    if (this.#stopped || (this.#last && snapshot.fetchedAt <= this.#last.fetchedAt)) return;
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
      if (shared && (!this.#last || shared.fetchedAt > this.#last.fetchedAt)) this.#accept(shared);
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
    if (this.#last && snapshot.fetchedAt < this.#last.fetchedAt) {
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

/** What subscriptions need of live task state. */
export interface TaskUpdateSource {
  /** `owner`: whose limits the watcher counts against (a tenant, or a caller address). */
  watch(id: string, owner: string): AsyncIterableIterator<TaskUpdate>;
  readonly activePollers: number;
  readonly activeWatchers: number;
  close(): void;
}

export class TaskWatchHub implements TaskUpdateSource {
  readonly #pollers = new Map<string, TaskPoller>();
  readonly #owners = new Map<string, OwnerUsage>();
  readonly #deps: PollerDependencies;

  constructor(reader: TaskReader, config: LiveConfig, logger: Logger, coordinator: PollCoordinator = soloPolling) {
    this.#deps = { reader, config, coordinator, logger: logger.child({ component: 'task-watch-hub' }) };
    // What another replica read reaches this replica's cache and watchers as if read here.
    coordinator.onSnapshot((snapshot) => {
      reader.remember(snapshot);
      this.#pollers.get(snapshot.id)?.apply(snapshot);
    });
  }

  /** Pollers running now (one per watched task id). */
  get activePollers(): number {
    return this.#pollers.size;
  }

  /** Watchers across all tasks. */
  get activeWatchers(): number {
    let count = 0;
    for (const poller of this.#pollers.values()) count += poller.watcherCount;
    return count;
  }

  /**
   * The task's current state at once, then every change, ending after the terminal state or an
   * error. Returning (the client left) releases the watcher at once, even mid-poll.
   */
  watch(id: string, owner: string): AsyncIterableIterator<TaskUpdate> {
    // Counted when the stream starts, inside the executor: a stream that is never started holds nothing.
    return new Repeater<TaskUpdate>(async (push, stop) => {
      const refusal = this.#acquire(owner, id);
      if (refusal) {
        void push({ kind: 'error', error: refusal });
        stop();
        return;
      }
      const watcher: Watcher = {
        push: (update) => void push(update),
        end: () => stop(),
      };
      const poller = this.#pollerFor(id);
      poller.add(watcher);
      await stop;
      poller.remove(watcher);
      this.#release(owner, id);
    }, new SlidingBuffer(WATCHER_BUFFER));
  }

  /** Takes a watcher slot for `owner` on task `id`, or says why not. */
  #acquire(owner: string, id: string): Error | undefined {
    const { maxSubscriptionsPerTenant, maxPollersPerTenant } = this.#deps.config;
    const usage = this.#owners.get(owner) ?? { watchers: 0, tasks: new Map<string, number>() };
    if (usage.watchers >= maxSubscriptionsPerTenant) {
      return tooManySubscriptionsError(`At most ${maxSubscriptionsPerTenant} subscriptions may be open at once; close one first.`, maxSubscriptionsPerTenant, 'tenant');
    }
    const onTask = usage.tasks.get(id) ?? 0;
    if (onTask === 0 && usage.tasks.size >= maxPollersPerTenant) {
      return tooManySubscriptionsError(`At most ${maxPollersPerTenant} different tasks may be watched at once; close a subscription first.`, maxPollersPerTenant, 'tasks');
    }
    usage.watchers++;
    usage.tasks.set(id, onTask + 1);
    this.#owners.set(owner, usage);
    return undefined;
  }

  #release(owner: string, id: string): void {
    const usage = this.#owners.get(owner);
    if (!usage) return;
    usage.watchers--;
    const onTask = (usage.tasks.get(id) ?? 1) - 1;
    if (onTask > 0) usage.tasks.set(id, onTask);
    else usage.tasks.delete(id);
    if (usage.watchers <= 0) this.#owners.delete(owner);
  }

  /** Completes every open stream (used on shutdown). */
  close(): void {
    for (const poller of [...this.#pollers.values()]) poller.finish();
  }

  #pollerFor(id: string): TaskPoller {
    const existing = this.#pollers.get(id);
    if (existing) return existing;
    const poller = new TaskPoller(id, this.#deps, () => {
      if (this.#pollers.get(id) === poller) this.#pollers.delete(id);
    });
    this.#pollers.set(id, poller);
    // A poller serves every watcher: its log lines must not carry the first watcher's request id.
    requestScope.exit(() => poller.start());
    return poller;
  }
}
