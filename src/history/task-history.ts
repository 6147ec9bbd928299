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
}

export interface HistoryPage {
  /** Newest first: createdAt descending, then taskId descending. */
  records: TaskRecord[];
  hasNextPage: boolean;
  /** Tasks of this owner matching `statuses`, regardless of the cursor. */
  totalCount: number;
}

/** A page of unfinished tasks across owners, oldest first. */
export interface UnfinishedQuery {
  /** Strictly after this (createdAt, taskId) in oldest-first order; undefined: from the oldest. */
  after?: HistoryCursor | undefined;
  /** At most this many records (1..1000, checked by the caller). */
  limit: number;
}

export interface TaskHistory {
  /**
   * Writes the record of a task the gateway just created. Resolves only once the record is durable
   * (committed): the create answers with the task id after this, so a crash never leaves a task a
   * client received missing from history. Recording the same (owner, taskId) twice is a no-op.
   */
  record(entry: { owner: HistoryOwner; taskId: string; prompt: string; createdAt: Date }): Promise<void>;
  /** The records of these tasks that belong to `owner` (others are absent from the map). */
  getMany(owner: HistoryOwner, taskIds: readonly string[]): Promise<Map<string, TaskRecord>>;
  list(owner: HistoryOwner, query: HistoryQuery): Promise<HistoryPage>;
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
  /** Removes the record; false when `owner` has no such task. */
  delete(owner: HistoryOwner, taskId: string): Promise<boolean>;
  close(): Promise<void>;
}
