// The gateway's durable record of every task it created: what a tenant's history (`myTasks`), a
// task's `createdAt` and `prompt`, and `deleteTask` read and write. The upstream has no list
// endpoint, so without this record a task id a client drops is gone.
//
// Implementations: SQLite under DATA_DIR (the default, nothing to install) and PostgreSQL at
// DATABASE_URL (many replicas), one Kysely query code over both (sql-task-history.ts).
import type { TaskStatusValue } from '../upstream/task-snapshot.js';

/**
 * Whose history a task belongs to: the tenant of the client key, or SHARED_HISTORY on an open
 * gateway (one history for everyone, as the issue asks).
 */
export type HistoryOwner = string;
export const SHARED_HISTORY: HistoryOwner = '';

export interface TaskRecord {
  owner: HistoryOwner;
  /** The upstream task id (never the signed id a tenant sees). */
  taskId: string;
  prompt: string;
  /** When the gateway accepted the create. */
  createdAt: Date;
  /** The last status the gateway saw; QUEUED until a read says otherwise. */
  status: TaskStatusValue;
  /** When `status` last changed: the read time of the note that changed it; `createdAt` until then. */
  updatedAt: Date;
  /** The signed-in user of the tenant who created it; null when a client key (or an open gateway) did. */
  createdBy: string | null;
}

/** Where a page starts: after this (createdAt, taskId) in newest-first order. */
export interface HistoryCursor {
  /** A whole number of epoch milliseconds (the stores refuse anything else, with a RangeError). */
  createdAtMs: number;
  taskId: string;
}

export interface HistoryQuery {
  /** 1..100, checked by the caller. */
  first: number;
  after?: HistoryCursor | undefined;
  /** Only these last-known statuses; undefined or empty: all. */
  statuses?: readonly TaskStatusValue[] | undefined;
  /** Only the tasks this signed-in user created; undefined: every task of the owner. */
  createdBy?: string | undefined;
  /** False: the page only, without counting (totalCount is then undefined). Default true. */
  withTotalCount?: boolean | undefined;
}

export interface HistoryPage {
  /** Newest first: createdAt descending, then taskId descending. */
  records: TaskRecord[];
  hasNextPage: boolean;
  /** Tasks of this owner matching `statuses`, regardless of the cursor; undefined when not asked for. */
  totalCount: number | undefined;
}

/** A page of unfinished tasks across owners, oldest first. */
export interface UnfinishedQuery {
  /** Strictly after this (createdAt, taskId) in oldest-first order; undefined: from the oldest. */
  after?: HistoryCursor | undefined;
  /** At most this many records (1..1000, checked by the caller). */
  limit: number;
}

/** A stored copy of one of a task's videos (the bytes live in the video store under `key`). */
export interface VideoCopy {
  /** The video's place in the task's `videos` list. */
  index: number;
  /** The object's name in the video store. */
  key: string;
  format: 'MP4' | 'GIF';
  bytes: number;
  storedAt: Date;
}

/** A task whose videos one process has claimed to copy, until the claim's lease runs out. */
export interface CopyClaim {
  owner: HistoryOwner;
  taskId: string;
  /** Attempts so far, this one included. */
  attempts: number;
}

export interface CopyClaimQuery {
  now: Date;
  /** Until when the claim holds: a process that dies while copying leaves the task due again then. */
  leaseUntil: Date;
  /** At most this many tasks (1..1000). */
  limit: number;
  /** Only this upstream task (just seen succeed); otherwise any task due, the longest due first. */
  taskId?: string | undefined;
}

/** A record old enough for the retention sweep. */
export interface ExpiredRecord {
  owner: HistoryOwner;
  taskId: string;
}

export interface TaskHistory {
  /**
   * Writes the record of a task the gateway just created. Resolves only once the record is durable
   * (committed): the create answers with the task id after this, so a crash never leaves a task a
   * client received missing from history. Recording the same (owner, taskId) twice is a no-op.
   */
  record(entry: { owner: HistoryOwner; taskId: string; prompt: string; createdAt: Date; createdBy?: string | null | undefined }): Promise<void>;
  /** The records of these tasks that belong to `owner` (others are absent from the map). */
  getMany(owner: HistoryOwner, taskIds: readonly string[]): Promise<Map<string, TaskRecord>>;
  list(owner: HistoryOwner, query: HistoryQuery): Promise<HistoryPage>;
  /** How many tasks of `owner` match the query's `statuses` and `createdBy` (its page fields are ignored). */
  count(owner: HistoryOwner, query: Pick<HistoryQuery, 'statuses' | 'createdBy'>): Promise<number>;
  /**
   * The last status the gateway saw for a task, whoever read it (every owner's record of that
   * upstream id). A write never moves a task back from a terminal status (SUCCEEDED, FAILED); a
   * non-terminal status read before the one recorded (`at` earlier than `updatedAt`) is ignored;
   * an unchanged status writes nothing, so noting every read is cheap. Unknown task ids are ignored.
   */
  noteStatus(taskId: string, status: TaskStatusValue, at: Date): Promise<void>;
  /**
   * Records whose last-known status is not terminal (neither SUCCEEDED nor FAILED), of every owner,
   * oldest first (createdAt ascending, then taskId ascending): the tasks the gateway must still
   * follow. One task id held by two owners appears twice. Keyset-paged, so a scan over many
   * unfinished tasks reads each page from an index range, never the finished ones.
   */
  listUnfinished(query: UnfinishedQuery): Promise<TaskRecord[]>;
  /**
   * Claims tasks whose videos are due to be copied: SUCCEEDED (noteStatus makes every task that
   * reaches it due at once), not yet copied, and not claimed by anyone whose lease still runs. Each
   * claim counts an attempt and holds until `leaseUntil`. Two processes never claim one task at once.
   */
  claimCopies(query: CopyClaimQuery): Promise<CopyClaim[]>;
  /**
   * Records the copies made for a claimed task, and marks it copied, in one commit. False when the
   * record is gone (deleted while copying): the caller then removes the objects it stored.
   */
  completeCopies(owner: HistoryOwner, taskId: string, copies: readonly VideoCopy[]): Promise<boolean>;
  /** A failed attempt: the task is due again at `retryAt` (its claim ends). */
  deferCopies(owner: HistoryOwner, taskId: string, retryAt: Date): Promise<void>;
  /** The copies held for these tasks of `owner`, by task id, each list in video order. */
  getCopies(owner: HistoryOwner, taskIds: readonly string[]): Promise<Map<string, VideoCopy[]>>;
  /** Records (of every owner) created before `before`, oldest first, at most `limit`. */
  listExpired(before: Date, limit: number): Promise<ExpiredRecord[]>;
  /** Removes the record and its copies' rows; false when `owner` has no such task. */
  delete(owner: HistoryOwner, taskId: string): Promise<boolean>;
  /**
   * A secret shared by every process on this store, made by `create` the first time it is asked for
   * (whoever writes first wins; everyone reads that one). It lives as long as the store.
   */
  sharedSecret(name: string, create: () => string): Promise<string>;
  close(): Promise<void>;
}
