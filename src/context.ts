// The per-request context: a fresh DataLoader per request (so nothing is cached across requests
// in it), the shared task reader and watch hub, and the request's AbortSignal so a departed
// client stops waiting.
import DataLoader from 'dataloader';
import type { TaskReader } from './live/task-reader.js';
import type { TaskWatchHub } from './live/task-watch-hub.js';
import type { UpstreamClient } from './upstream/client.js';
import type { TaskSnapshot } from './upstream/task-snapshot.js';
import type { ValidationLimits } from './create-video/validate-input.js';

export interface RequestLimits extends ValidationLimits {
  createMaxBodyBytes: number;
}

export interface GatewayContext {
  upstream: UpstreamClient;
  /** Reads tasks by id; the same id twice in one operation costs one read. */
  taskLoader: DataLoader<string, TaskSnapshot | null>;
  /** Shared pollers for subscriptions; events never go through the per-request loader. */
  live: TaskWatchHub;
  limits: RequestLimits;
  signal: AbortSignal;
}

export interface ContextDependencies {
  upstream: UpstreamClient;
  tasks: TaskReader;
  live: TaskWatchHub;
  limits: RequestLimits;
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

export function createTaskLoader(tasks: TaskReader, signal: AbortSignal | undefined): DataLoader<string, TaskSnapshot | null> {
  // The upstream has no batch read, so a batch is parallel single reads (each cached and
  // single-flight in the reader); one failing id must not fail its neighbours, hence Error values.
  return new DataLoader(async (ids) => Promise.all(ids.map((id) => tasks.read(id, { signal }).catch(toError))));
}

/**
 * Over HTTP (and SSE) the initial context holds the fetch Request; over graphql-ws there is none,
 * and the WebSocket layer passes its own signal instead.
 */
interface InitialContext {
  request?: { signal?: AbortSignal } | undefined;
  signal?: AbortSignal | undefined;
}

export function createContextFactory(deps: ContextDependencies) {
  return (initial: InitialContext): GatewayContext => {
    const signal = initial.signal ?? initial.request?.signal ?? new AbortController().signal;
    return {
      upstream: deps.upstream,
      taskLoader: createTaskLoader(deps.tasks, signal),
      live: deps.live,
      limits: deps.limits,
      signal,
    };
  };
}
