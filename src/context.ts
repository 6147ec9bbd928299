// The per-request context: a fresh DataLoader per request (so nothing is cached across requests
// in it), the shared task reader and watch hub, and a signal that fires when the client leaves or
// the operation's deadline passes, so nobody waits for the upstream longer than that.
import { idScopeOf, limitOwnerOf, userLimitOwnerOf, type AuthenticatedCaller, type IdScope } from './auth/caller-owner.js';
import type DataLoader from 'dataloader';
import type { TaskIdCodec } from './auth/task-ids.js';
import type { TaskCacheConfig } from './config.js';
import type { CreateVideoService } from './create-video/create-video-service.js';
import { CallerHistory, historyOwnerOf } from './history/caller-history.js';
import type { TaskHistory } from './history/task-history.js';
import type { Logger } from './logger.js';
import { ResponseLifetime } from './response-cache/response-lifetime.js';
import { createTaskLoader, unknownReadGate } from './tasks/task-loader.js';
import type { TaskReader } from './tasks/task-reader.js';
import type { TaskUpdateSource } from './live/task-watch-hub.js';
import type { TokenBuckets } from './token-buckets.js';
import { deadlineSignal } from './operation-deadline.js';
import type { TaskSnapshot } from './upstream/task-snapshot.js';
import type { VideoLinks } from './videos/video-links.js';
import type { WatchLinks } from './live/watch-links.js';
import type { Usage } from './create-video/budget-ledger.js';

export interface GatewayContext {
  /** The caller's tenant; null when the gateway runs without client keys. */
  tenant: string | null;
  /** The signed-in user (a JWT's `sub`); null for a client key or an open gateway. */
  user: string | null;
  /** Whose task ids the caller sees and may use. */
  scope: IdScope;
  /** Where per-user limits count (a signed-in user); undefined for client keys and open gateways. */
  userOwner: string | undefined;
  /** Whose per-caller limits apply: the tenant, or the caller's address on an open gateway. */
  owner: string;
  /** Undefined when a read of this id may go ahead; else the refusal (too many reads of unknown ids). */
  admitRead(id: string): Error | undefined;
  /** Turns upstream task ids into the ids this caller sees, and back (null: not this caller's). */
  ids: TaskIdCodec;
  /** The create flow (one service for the whole gateway). */
  createVideo: CreateVideoService;
  /** The request's Idempotency-Key header, when it has one. */
  idempotencyKey: string | undefined;
  /** Reads tasks by id; the same id twice in one operation costs one read. */
  taskLoader: DataLoader<string, TaskSnapshot | null>;
  /**
   * A task by upstream id, for the queries that answer "which task is this": the video service's
   * state, or, once it no longer knows the task, the caller's history's (status, stored copies).
   */
  readTask(upstreamId: string): Promise<TaskSnapshot | null>;
  /** Shared pollers for subscriptions; events never go through the per-request loader. */
  live: TaskUpdateSource;
  /** The caller's task history: the tenant's, or the shared one on an open gateway. */
  history: CallerHistory;
  /** Signs the links to the gateway's stored video copies. */
  videoLinks: VideoLinks;
  /** Signs Task.watchUrl links. */
  watchLinks: WatchLinks;
  /** Today's credit use of the caller: the signed-in user's, or the tenant's. */
  usage(): Promise<Usage>;
  /** How long this response may be reused by the response cache. */
  responseLifetime: ResponseLifetime;
  /** Read lazily: creating a request's AbortSignal costs, and cached answers never need one. */
  readonly signal: AbortSignal;
}

export interface ContextDependencies {
  /** Told about every task lookup, so /metrics shows cache hits and misses. */
  onTaskLookup?: (hit: boolean) => void;
  /** Distinct tasks one operation may read: the bound on upstream reads per operation. */
  maxTaskReads: number;
  ids: TaskIdCodec;
  createVideo: CreateVideoService;
  tasks: TaskReader;
  live: TaskUpdateSource;
  taskCache: TaskCacheConfig;
  /** A query or mutation's whole deadline, upstream calls and retries included. */
  operationDeadlineMs: number;
  /** Undefined where ids are signed (authentic by construction): every read may go ahead. */
  unknownIdReads: TokenBuckets | undefined;
  /** The durable record of the tasks this gateway created. */
  history: TaskHistory;
  /** Where history failures are logged (clients see HISTORY_UNAVAILABLE). */
  logger: Logger;
  /** Told the upstream id of every task deleteTask removed from a history. */
  onTaskDeleted?: (taskId: string) => void;
  /** Removes a task's stored video copies (deleteTask). */
  removeCopies: (owner: string, taskId: string) => Promise<void>;
  videoLinks: VideoLinks;
  watchLinks: WatchLinks;
  /** Today's credit use of a tenant's user (when given) or of the tenant. */
  usage: (tenant: string | null, user: string | null) => Promise<Usage>;
}

/**
 * Over HTTP (and SSE) the initial context holds the fetch Request; over graphql-ws there is none,
 * and the WebSocket layer passes its own signal instead.
 */
interface InitialContext {
  request?: { signal?: AbortSignal; headers?: { get(name: string): string | null } } | undefined;
  signal?: AbortSignal | undefined;
  /** Set by the HTTP layer or the WebSocket handshake after authentication. */
  caller?: AuthenticatedCaller | undefined;
}

/** Whose limits a caller counts against. */

export function createContextFactory(deps: ContextDependencies) {
  return (initial: InitialContext): GatewayContext => {
    const deadlineAt = Date.now() + deps.operationDeadlineMs;
    let signal: AbortSignal | undefined;
    // Made on first use: answers that never wait for the upstream never start a deadline timer.
    const getSignal = () => (signal ??= deadlineSignal(initial.signal ?? initial.request?.signal, deadlineAt, deps.operationDeadlineMs));
    const responseLifetime = new ResponseLifetime(deps.taskCache);
    const owner = limitOwnerOf(initial.caller);
    const admitRead = unknownReadGate(deps.tasks, deps.unknownIdReads, owner);
    const tenant = initial.caller?.tenant ?? null;
    const scope = idScopeOf(initial.caller);
    const taskLoader = createTaskLoader(deps.tasks, getSignal, deps.maxTaskReads, {
      onRead: (snapshot) => responseLifetime.noteRead(snapshot),
      onLookup: deps.onTaskLookup,
      admit: admitRead,
    });
    const historyHooks = {
      onRead: () => responseLifetime.forbidReuse(),
      // Listed tasks were created by this gateway: reading them is not a guess at an id.
      onListed: (taskIds: readonly string[]) => {
        for (const id of taskIds) deps.tasks.noteExists(id);
      },
      onDeleted: deps.onTaskDeleted,
      removeCopies: deps.removeCopies,
    };
    const history = new CallerHistory(deps.history, historyOwnerOf(tenant), deps.logger, historyHooks, scope.user);
    return {
      tenant,
      user: scope.user,
      scope,
      userOwner: userLimitOwnerOf(initial.caller),
      owner,
      admitRead,
      ids: deps.ids,
      createVideo: deps.createVideo,
      idempotencyKey: initial.request?.headers?.get('idempotency-key') ?? undefined,
      taskLoader,
      live: deps.live,
      readTask: async (upstreamId) => (await taskLoader.load(upstreamId)) ?? (await history.remembered(upstreamId)),
      history,
      videoLinks: deps.videoLinks,
      watchLinks: deps.watchLinks,
      usage: () => deps.usage(tenant, scope.user),
      responseLifetime,
      get signal() {
        return getSignal();
      },
    };
  };
}
