// Keeps each task's last-known status in the history up to date from every upstream read, so
// `myTasks(status: …)` filters on what the gateway last saw. A note never holds up or fails the
// read it comes from: the write runs on its own, and a store error is only logged.
import type { Logger } from '../logger.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { TaskHistory } from './task-history.js';

export class TaskStatusNotes {
  readonly #history: Pick<TaskHistory, 'noteStatus'>;
  readonly #logger: Logger;
  /** Writes still running, so shutdown can let them finish before the store closes. */
  readonly #pending = new Set<Promise<void>>();

  readonly #onNoted: ((snapshot: TaskSnapshot) => void) | undefined;

  /** `onNoted`: told each snapshot once its status is in the history (e.g. to copy a succeeded task's videos). */
  constructor(history: Pick<TaskHistory, 'noteStatus'>, logger: Logger, onNoted?: (snapshot: TaskSnapshot) => void) {
    this.#history = history;
    this.#logger = logger;
    this.#onNoted = onNoted;
  }

  /** Notes the snapshot's status as of its read time; returns at once. */
  note(snapshot: TaskSnapshot): void {
    // The read never waits for this; a store that throws synchronously lands in the same catch as
    // one that rejects.
    const write: Promise<void> = Promise.resolve()
      .then(() => this.#history.noteStatus(snapshot.id, snapshot.status, snapshot.fetchedAt))
      .then(() => this.#onNoted?.(snapshot))
      .catch((error: unknown) => {
        this.#logger.warn({ err: error, taskId: snapshot.id, status: snapshot.status }, 'could not note a task status in the history');
      })
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /** Resolves once every note already started has settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}
