// Reads tasks for queries and pollers: answers from the status-aware cache when it may, and lets
// concurrent reads of one id share one upstream call (single-flight).
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { SharedTaskCache } from './redis-task-cache.js';
import type { TaskResultCache } from './task-result-cache.js';

export interface TaskSource {
  getTask(id: string, signal?: AbortSignal): Promise<TaskSnapshot | null>;
}

export interface ReadOptions {
  /** Skip the cache (a poller wants the upstream's current state), still sharing an in-flight call. */
  fresh?: boolean;
  /** The caller's signal: it stops this caller's wait, never the shared upstream call. */
  signal?: AbortSignal | undefined;
}

function abandonable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
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

export class TaskReader {
  readonly #source: TaskSource;
  readonly #cache: TaskResultCache;
  readonly #shared: SharedTaskCache | undefined;
  readonly #inFlight = new Map<string, Promise<TaskSnapshot | null>>();

  /** `shared`: a cache other replicas fill too (Redis), asked after this process's own. */
  constructor(source: TaskSource, cache: TaskResultCache, shared?: SharedTaskCache) {
    this.#source = source;
    this.#cache = cache;
    this.#shared = shared;
  }

  /** Keeps a snapshot read elsewhere (another replica's poll) as if this process had read it. */
  remember(snapshot: TaskSnapshot): void {
    this.#cache.set(snapshot);
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
    let flight = this.#inFlight.get(id);
    if (!flight) {
      // No caller's signal here: one client leaving must not fail the others waiting on this call.
      flight = this.#readThrough(id, options.fresh === true).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, flight);
    }
    return abandonable(flight, options.signal);
  }

  async #readThrough(id: string, fresh: boolean): Promise<TaskSnapshot | null> {
    if (!fresh && this.#shared) {
      const shared = await this.#shared.get(id);
      if (shared) {
        this.#cache.set(shared);
        return shared;
      }
    }
    const snapshot = await this.#source.getTask(id);
    if (snapshot) {
      this.#cache.set(snapshot);
      // Not awaited: a slow or absent Redis must not hold up the answer (set() never throws).
      void this.#shared?.set(snapshot);
    }
    return snapshot;
  }
}
