// Reads tasks for queries and pollers: answers from the status-aware cache when it may, and lets
// concurrent reads of one id share one upstream call (single-flight). A shared call lives as long as
// someone waits for it: when the last waiter's signal fires (its client left, its deadline passed,
// its poller stopped), the upstream call and its retries are abandoned too.
import { LRUCache } from 'lru-cache';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { SharedTaskCache, TaskResultCache } from './task-result-cache.js';

export interface TaskSource {
  getTask(id: string, signal?: AbortSignal): Promise<TaskSnapshot | null>;
}

export interface ReadOptions {
  /** Skip the cache (a poller wants the upstream's current state), still sharing an in-flight call. */
  fresh?: boolean;
  /**
   * The caller's signal: it stops this caller's wait, and the shared upstream call only once no
   * other caller waits for it. Without one, the caller waits for as long as the call takes.
   */
  signal?: AbortSignal | undefined;
}

/** One upstream read shared by everyone who asked for the id while it ran. */
interface Flight {
  promise: Promise<TaskSnapshot | null>;
  controller: AbortController;
  /** Callers still waiting; Infinity once one joined without a signal (it never leaves). */
  waiters: number;
}

const KNOWN_IDS = 50_000;

export class TaskReader {
  readonly #source: TaskSource;
  readonly #cache: TaskResultCache;
  readonly #shared: SharedTaskCache | undefined;
  readonly #inFlight = new Map<string, Flight>();
  /** Ids recently seen to exist (bounded): reading them again is not a guess. */
  readonly #known = new LRUCache<string, true>({ max: KNOWN_IDS });
  readonly #onFetched: ((snapshot: TaskSnapshot) => void) | undefined;

  /**
   * `shared`: a cache other replicas fill too (Redis), asked after this process's own.
   * `onFetched`: told about every snapshot read from the upstream (this is the one place those
   * reads land), e.g. to note its status in the task history; it must return at once and not throw.
   */
  constructor(source: TaskSource, cache: TaskResultCache, shared?: SharedTaskCache, onFetched?: (snapshot: TaskSnapshot) => void) {
    this.#source = source;
    this.#cache = cache;
    this.#shared = shared;
    this.#onFetched = onFetched;
  }

  /** Keeps a snapshot read elsewhere (another replica's poll) as if this process had read it. */
  remember(snapshot: TaskSnapshot): void {
    this.#known.set(snapshot.id, true);
    this.#cache.set(snapshot);
  }

  /** Notes that a task exists (this gateway just created it), so reading it is not a guess. */
  noteExists(id: string): void {
    this.#known.set(id, true);
  }

  /** Whether this process has recently seen the task exist (read it, or heard of it from a replica). */
  isKnown(id: string): boolean {
    return this.#known.has(id);
  }

  /** What other replicas last read (the shared cache only); never calls the upstream. */
  async peekShared(id: string): Promise<TaskSnapshot | undefined> {
    return this.#shared?.get(id);
  }

  /** The cached snapshot, if one may still be served; never calls the upstream. */
  cached(id: string): TaskSnapshot | undefined {
    return this.#cache.get(id);
  }

  read(id: string, options: ReadOptions = {}): Promise<TaskSnapshot | null> {
    if (!options.fresh) {
      const hit = this.#cache.get(id);
      if (hit) return Promise.resolve(hit);
    }
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    let flight = this.#inFlight.get(id);
    if (!flight) {
      // The call gets a signal of its own, not the first caller's: one client leaving must not fail
      // the others waiting on this call.
      const controller = new AbortController();
      const started: Flight = { controller, waiters: 0, promise: Promise.resolve(null) };
      started.promise = this.#readThrough(id, options.fresh === true, controller.signal).finally(() => {
        if (this.#inFlight.get(id) === started) this.#inFlight.delete(id);
      });
      // Abandoned calls reject with nobody listening.
      started.promise.catch(() => {});
      this.#inFlight.set(id, started);
      flight = started;
    }
    return this.#join(id, flight, options.signal);
  }

  /** Calls in flight now (for tests and metrics). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  #join(id: string, flight: Flight, signal: AbortSignal | undefined): Promise<TaskSnapshot | null> {
    if (!signal) {
      flight.waiters = Number.POSITIVE_INFINITY;
      return flight.promise;
    }
    flight.waiters++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        flight.waiters--;
        if (flight.waiters > 0) return;
        // The last one left: nobody needs the answer, so stop the call (and its retries).
        if (this.#inFlight.get(id) === flight) this.#inFlight.delete(id);
        flight.controller.abort();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  async #readThrough(id: string, fresh: boolean, signal: AbortSignal): Promise<TaskSnapshot | null> {
    if (!fresh && this.#shared) {
      const shared = await this.#shared.get(id);
      if (shared) {
        this.#known.set(id, true);
        this.#cache.set(shared);
        return shared;
      }
    }
    const snapshot = await this.#source.getTask(id, signal);
    if (snapshot) {
      this.#known.set(id, true);
      this.#cache.set(snapshot);
      // Not awaited: a slow or absent Redis must not hold up the answer (set() never throws).
      void this.#shared?.set(snapshot);
      this.#onFetched?.(snapshot);
    }
    return snapshot;
  }
}
