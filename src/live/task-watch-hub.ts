// One shared poller per task id: every watcher of a task in this process shares its upstream reads.
// A poller starts with its first watcher and stops when the last one leaves or the task ends; a read
// it has under way is abandoned with it. Each owner (a tenant, or a caller address on an open
// gateway) may hold LIVE_MAX_SUBSCRIPTIONS_PER_TENANT watchers on LIVE_MAX_POLLERS_PER_TENANT tasks.
// The server's own watchers (task-follower.ts) join the same pollers through `follow`, outside
// those limits: a watched task that is also followed is read once per interval, not twice.
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { LiveConfig } from '../config.js';
import { DomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import { requestScope } from '../request-scope.js';
import type { TaskReader } from '../tasks/task-reader.js';
import { soloPolling, type PollCoordinator } from './poll-coordinator.js';
import { TaskPoller, type PollerDependencies, type TaskUpdate, type Watcher } from './task-poller.js';

export { taskNotFoundError, type TaskUpdate, type Watcher } from './task-poller.js';

// A slow client keeps only the newest states; the last event (terminal state or error) survives.
const WATCHER_BUFFER = 16;

function tooManySubscriptionsError(message: string, limit: number, scope: 'tenant' | 'tasks'): Error {
  return new DomainError('TOO_MANY_SUBSCRIPTIONS', message, { limit, scope });
}

/** What one owner holds open: watchers, and how many of them watch each task. */
interface OwnerUsage {
  watchers: number;
  tasks: Map<string, number>;
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
  #closed = false;
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

  /** Subscribers' watchers across all tasks (the server's own, through `follow`, are not counted). */
  get activeWatchers(): number {
    let count = 0;
    for (const usage of this.#owners.values()) count += usage.watchers;
    return count;
  }

  /**
   * The task's current state at once, then every change, ending after the terminal state or an
   * error. Returning (the client left) releases the watcher at once, even mid-poll.
   */
  watch(id: string, owner: string): AsyncIterableIterator<TaskUpdate> {
    // Counted when the stream starts, inside the executor: a stream that is never started holds nothing.
    return new Repeater<TaskUpdate>(async (push, stop) => {
      // Shutting down: a stream opened on a kept-alive connection during the grace period ends at once.
      if (this.#closed) {
        stop();
        return;
      }
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

  /**
   * Adds a server-side watcher to the task's poller (starting one if none runs), counted against no
   * owner's limits: the caller bounds its own. It gets the current state (if known) and every change,
   * then `end()` after the terminal state, an error, or `close()`. Returns what removes it, or
   * undefined once the hub is closed (nothing was added).
   */
  follow(id: string, watcher: Watcher): (() => void) | undefined {
    if (this.#closed) return undefined;
    const poller = this.#pollerFor(id, 'leased');
    poller.add(watcher);
    return () => poller.remove(watcher);
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

  /** Completes every open stream and ends any opened later at once (used on shutdown). */
  close(): void {
    this.#closed = true;
    for (const poller of [...this.#pollers.values()]) poller.finish();
  }

  #pollerFor(id: string, firstLook: 'cached' | 'leased' = 'cached'): TaskPoller {
    const existing = this.#pollers.get(id);
    if (existing) return existing;
    const poller = new TaskPoller(id, this.#deps, () => {
      if (this.#pollers.get(id) === poller) this.#pollers.delete(id);
    });
    this.#pollers.set(id, poller);
    // A poller serves every watcher: its log lines must not carry the first watcher's request id.
    requestScope.exit(() => poller.start(firstLook));
    return poller;
  }
}
