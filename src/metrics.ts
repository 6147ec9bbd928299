// Prometheus metrics for /metrics. One registry per gateway (no process-wide default registry),
// labels from small fixed sets only: never a tenant, key, task id or client-chosen name.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type UpstreamEndpoint = 'create' | 'task-result';

/** What the upstream client reports; kept small so the client does not depend on prom-client. */
export interface UpstreamObserver {
  /** `status` is the HTTP status, or 'timeout' / 'network' when no answer came. */
  onAttempt(endpoint: UpstreamEndpoint, status: number | 'timeout' | 'network', seconds: number): void;
  onRetry(endpoint: UpstreamEndpoint): void;
}

export interface LiveGauges {
  readonly activeWatchers: number;
  readonly activePollers: number;
}

/** The root fields an operation may start from; anything else is counted as "other". */
const KNOWN_OPERATIONS = new Set(['task', 'tasks', 'node', 'myTasks', 'createReferenceVideo', 'deleteTask', 'taskUpdates', 'introspection']);

export function operationLabel(rootFields: readonly string[]): string {
  if (rootFields.length > 0 && rootFields.every((field) => field.startsWith('__'))) return 'introspection';
  const own = [...new Set(rootFields.filter((field) => !field.startsWith('__')))];
  if (own.length === 1 && KNOWN_OPERATIONS.has(own[0]!)) return own[0]!;
  return own.length > 1 ? 'multiple' : 'other';
}

export class GatewayMetrics implements UpstreamObserver {
  readonly registry = new Registry();
  readonly #operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations by root field and outcome (ok, error, cached).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly #operationSeconds = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'Time to execute a GraphQL operation (cached answers excluded).',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #upstreamCalls = new Counter({
    name: 'gateway_upstream_requests_total',
    help: 'Upstream HTTP attempts by endpoint and status (HTTP status, timeout or network).',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly #upstreamSeconds = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Duration of one upstream attempt.',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #upstreamRetries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Upstream retries by endpoint.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly #cacheLookups = new Counter({
    name: 'gateway_cache_lookups_total',
    help: 'Cache lookups by cache (task result, response) and result (hit, miss).',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });
  readonly #videoCopyAttempts = new Counter({
    name: 'gateway_video_copy_attempts_total',
    help: 'Attempts to copy a finished task\'s videos into the video store, by outcome (stored, failed: retried later).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  /** Gauges read from the live hub at scrape time. */
  trackLive(live: LiveGauges): void {
    new Gauge({
      name: 'gateway_active_subscriptions',
      help: 'Open taskUpdates subscriptions.',
      registers: [this.registry],
      collect() {
        this.set(live.activeWatchers);
      },
    });
    new Gauge({
      name: 'gateway_active_pollers',
      help: 'Tasks being polled (one poller per watched task).',
      registers: [this.registry],
      collect() {
        this.set(live.activePollers);
      },
    });
  }

  /** Gauges read from the task follower at scrape time. */
  /** Copies of finished videos: running now, and attempts by outcome. */
  trackVideoCopies(copier: { readonly activeCount: number }): void {
    new Gauge({
      name: 'gateway_video_copies_active',
      help: 'Video copies (download and store) running now, at most VIDEO_COPY_CONCURRENCY.',
      registers: [this.registry],
      collect() {
        this.set(copier.activeCount);
      },
    });
  }

  videoCopyAttempt(outcome: 'stored' | 'failed'): void {
    this.#videoCopyAttempts.inc({ outcome });
  }

  trackFollowing(follower: { readonly followedCount: number; readonly restingCount: number }): void {
    new Gauge({
      name: 'gateway_followed_tasks',
      help: 'Tasks followed to their end server-side now, watched or not (at most FOLLOW_MAX_TASKS).',
      registers: [this.registry],
      collect() {
        this.set(follower.followedCount);
      },
    });
    new Gauge({
      name: 'gateway_resting_followed_tasks',
      help: 'Tasks whose following ended in an error (unknown to the upstream, or failing), waiting to be followed again.',
      registers: [this.registry],
      collect() {
        this.set(follower.restingCount);
      },
    });
  }

  /** 1 while the shared Redis answers, 0 while this replica runs on local state only. */
  /** Entries and bytes of each in-process cache, read at scrape time. */
  trackCaches(caches: Record<'task' | 'response', { readonly size: number; readonly bytes: number } | undefined>): void {
    const each = (read: (cache: { readonly size: number; readonly bytes: number }) => number) =>
      function collect(this: Gauge<'cache'>) {
        for (const [name, cache] of Object.entries(caches)) this.set({ cache: name }, cache ? read(cache) : 0);
      };
    new Gauge({ name: 'gateway_cache_entries', help: 'Entries in an in-process cache.', labelNames: ['cache'], registers: [this.registry], collect: each((c) => c.size) });
    new Gauge({ name: 'gateway_cache_bytes', help: 'Bytes (estimated for tasks) held by an in-process cache.', labelNames: ['cache'], registers: [this.registry], collect: each((c) => c.bytes) });
  }

  trackRedis(isReady: () => boolean): void {
    new Gauge({
      name: 'gateway_redis_connected',
      help: 'Whether the shared Redis answers (0: caches, pollers and rate limits are local; keyed creates fail closed).',
      registers: [this.registry],
      collect() {
        this.set(isReady() ? 1 : 0);
      },
    });
  }

  onAttempt(endpoint: UpstreamEndpoint, status: number | 'timeout' | 'network', seconds: number): void {
    this.#upstreamCalls.inc({ endpoint, status: String(status) });
    this.#upstreamSeconds.observe({ endpoint }, seconds);
  }

  onRetry(endpoint: UpstreamEndpoint): void {
    this.#upstreamRetries.inc({ endpoint });
  }

  operation(operation: string, outcome: 'ok' | 'error' | 'cached', seconds?: number): void {
    this.#operations.inc({ operation, outcome });
    if (seconds !== undefined) this.#operationSeconds.observe({ operation }, seconds);
  }

  cacheLookup(cache: 'task' | 'response', hit: boolean): void {
    this.#cacheLookups.inc({ cache, result: hit ? 'hit' : 'miss' });
  }
}
