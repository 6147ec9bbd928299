// One caller's view of the task history, made per request: the owner fixed (the tenant, or the one
// shared history of an open gateway), the records of a whole page or operation fetched in one
// getMany through a DataLoader, and a store failure turned into a coded refusal that a client can
// act on (HISTORY_UNAVAILABLE) while the operator gets the real error in the log.
import DataLoader from 'dataloader';
import { DomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { rememberedTask } from './remembered-task.js';
import { SHARED_HISTORY, type HistoryOwner, type HistoryPage, type HistoryQuery, type TaskHistory, type TaskRecord, type VideoCopy } from './task-history.js';

/** Whose history a caller reads and writes: the tenant of its client key, or the shared one. */
export function historyOwnerOf(tenant: string | null): HistoryOwner {
  return tenant ?? SHARED_HISTORY;
}

export function historyUnavailableError(): DomainError {
  return new DomainError('HISTORY_UNAVAILABLE', 'The task history cannot be reached right now; retry shortly.');
}

export interface CallerHistoryHooks {
  /**
   * Told whenever the history is read. The history changes (creates, deletes) without the task
   * caches knowing, so a response that read it must not be reused.
   */
  onRead?: () => void;
  /** Told the upstream ids of a listed page: this gateway created them, so reading them is no guess. */
  onListed?: (taskIds: readonly string[]) => void;
  /** Told the upstream id of a task just removed from the history (its following stops). */
  onDeleted?: (taskId: string) => void;
  /**
   * Removes a task's stored video copies. Called before its record goes (a failure then leaves the
   * record, and the delete can be retried) and again after it (a copy that finished in between).
   */
  removeCopies?: (owner: HistoryOwner, taskId: string) => Promise<void>;
}

export class CallerHistory {
  readonly owner: HistoryOwner;
  /** A signed-in user sees only the tasks they created; a client key sees all of the owner's. */
  readonly user: string | null;
  readonly #history: TaskHistory;
  readonly #logger: Logger;
  readonly #hooks: CallerHistoryHooks;
  readonly #records: DataLoader<string, TaskRecord | null>;
  readonly #copies: DataLoader<string, VideoCopy[]>;

  constructor(history: TaskHistory, owner: HistoryOwner, logger: Logger, hooks: CallerHistoryHooks = {}, user: string | null = null) {
    this.#history = history;
    this.owner = owner;
    this.user = user;
    this.#logger = logger;
    this.#hooks = hooks;
    this.#records = new DataLoader(async (taskIds) => {
      const found = await this.#guard('getMany', () => this.#history.getMany(owner, taskIds));
      return taskIds.map((id) => found.get(id) ?? null);
    });
    this.#copies = new DataLoader(async (taskIds) => {
      const found = await this.#guard('getCopies', () => this.#history.getCopies(owner, taskIds));
      return taskIds.map((id) => found.get(id) ?? []);
    });
  }

  /** One page of the caller's history, newest first; its records serve `record()` without another read. */
  async list(query: HistoryQuery): Promise<HistoryPage> {
    this.#hooks.onRead?.();
    const page = await this.#guard('list', () => this.#history.list(this.owner, { ...query, createdBy: this.user ?? undefined }));
    for (const record of page.records) this.#records.prime(record.taskId, record);
    this.#hooks.onListed?.(page.records.map((record) => record.taskId));
    return page;
  }

  /** How many of the caller's tasks have one of these statuses (all: none given). */
  async count(statuses: HistoryQuery['statuses']): Promise<number> {
    this.#hooks.onRead?.();
    return this.#guard('count', () => this.#history.count(this.owner, { statuses, createdBy: this.user ?? undefined }));
  }

  /** The caller's record of this upstream task id; null when the caller's history does not hold it. */
  record(taskId: string): Promise<TaskRecord | null> {
    this.#hooks.onRead?.();
    return this.#records.load(taskId);
  }

  /**
   * The caller's stored copies of this task's videos, in video order; empty when none are held.
   * (Unlike records, reading them does not forbid reusing the response: what they change, the
   * caller bounds through the response's lifetime.)
   */
  copies(taskId: string): Promise<VideoCopy[]> {
    return this.#copies.load(taskId);
  }

  /**
   * The caller's task as the history remembers it, for a task the video service no longer knows;
   * null when the caller's history does not hold it either.
   */
  async remembered(taskId: string): Promise<TaskSnapshot | null> {
    const record = await this.record(taskId);
    return record === null ? null : rememberedTask(record, await this.copies(taskId));
  }

  /** Removes the task and its stored video copies from the caller's history; false when it holds no such task. */
  async delete(taskId: string): Promise<boolean> {
    const removeCopies = this.#hooks.removeCopies;
    if (removeCopies) await this.#guard('removeCopies', () => removeCopies(this.owner, taskId));
    const deleted = await this.#guard('delete', () => this.#history.delete(this.owner, taskId));
    if (deleted && removeCopies) await this.#guard('removeCopies', () => removeCopies(this.owner, taskId));
    // Later fields of the same operation see it gone.
    this.#records.clear(taskId).prime(taskId, null);
    this.#copies.clear(taskId).prime(taskId, []);
    if (deleted) this.#hooks.onDeleted?.(taskId);
    return deleted;
  }

  async #guard<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.#logger.error({ err: error, operation }, 'the task history failed');
      throw historyUnavailableError();
    }
  }
}
