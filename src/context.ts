// The per-request context: a fresh DataLoader per request (so nothing is cached across requests),
// the shared upstream client, and the request's AbortSignal so a departed client stops its calls.
import DataLoader from 'dataloader';
import type { UpstreamClient } from './upstream/client.js';
import type { TaskSnapshot } from './upstream/task-snapshot.js';
import type { ValidationLimits } from './create-video/validate-input.js';

export interface RequestLimits extends ValidationLimits {
  createMaxBodyBytes: number;
}

export interface GatewayContext {
  upstream: UpstreamClient;
  /** Reads tasks by id; the same id twice in one operation costs one upstream call. */
  taskLoader: DataLoader<string, TaskSnapshot | null>;
  limits: RequestLimits;
  signal: AbortSignal;
}

export interface ContextDependencies {
  upstream: UpstreamClient;
  limits: RequestLimits;
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

export function createTaskLoader(upstream: UpstreamClient, signal: AbortSignal): DataLoader<string, TaskSnapshot | null> {
  // The upstream has no batch read, so a batch is parallel single reads; DataLoader's value here is
  // the per-request dedupe. One failing id must not fail its neighbours, hence Error values.
  return new DataLoader(async (ids) =>
    Promise.all(ids.map((id) => upstream.getTask(id, signal).catch(toError))),
  );
}

export function createContextFactory(deps: ContextDependencies) {
  return ({ request }: { request: Request }): GatewayContext => ({
    upstream: deps.upstream,
    taskLoader: createTaskLoader(deps.upstream, request.signal),
    limits: deps.limits,
    signal: request.signal,
  });
}
