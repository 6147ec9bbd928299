// The task history on SQL: one query code (Kysely) over SQLite and PostgreSQL. Which one is the
// caller's choice (open-task-history.ts, from DATABASE_URL); this file only builds the dialect for
// the connection it is handed, brings the schema up to date and answers the TaskHistory calls.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, sql, type ColumnType, type DialectAdapter, type ExpressionBuilder } from 'kysely';
import type { Pool } from 'pg';
import { isTerminalStatus, type TaskStatusValue } from '../upstream/task-snapshot.js';
import { COPY_PENDING, migrateHistory, UNFINISHED, type SqlFlavor } from './history-migrations.js';
import type {
  CopyClaim,
  CopyClaimQuery,
  ExpiredRecord,
  HistoryOwner,
  HistoryPage,
  HistoryQuery,
  TaskHistory,
  TaskRecord,
  UnfinishedQuery,
  VideoCopy,
} from './task-history.js';

/** Epoch milliseconds; PostgreSQL's driver hands a bigint back as a string, SQLite as a number. */
type EpochMs = ColumnType<number | string, number, number>;

interface TaskHistoryTable {
  owner: string;
  task_id: string;
  prompt: string;
  created_at: EpochMs;
  status: string;
  updated_at: EpochMs;
  copy_state: ColumnType<string, string | undefined, string>;
  copy_attempts: ColumnType<number, number | undefined, number>;
  copy_due_at: ColumnType<number | string, number | undefined, number>;
  /** '' for a client key or an open gateway. */
  created_by: ColumnType<string, string | undefined, string>;
}

interface VideoCopiesTable {
  owner: string;
  task_id: string;
  video_index: number;
  storage_key: string;
  format: string;
  bytes: EpochMs;
  stored_at: EpochMs;
}

interface GatewaySecretsTable {
  name: string;
  value: string;
}

interface HistoryTables {
  task_history: TaskHistoryTable;
  video_copies: VideoCopiesTable;
  gateway_secrets: GatewaySecretsTable;
}

type TaskHistoryRow = {
  [column in keyof TaskHistoryTable]: TaskHistoryTable[column] extends ColumnType<infer Selected, unknown, unknown> ? Selected : TaskHistoryTable[column];
};

/** The connection to build on: a better-sqlite3 database (pragmas already set) or a pg pool. */
export type SqlConnection = { flavor: 'sqlite'; database: SqliteDatabase } | { flavor: 'postgres'; pool: Pool };

const TERMINAL_STATUSES: readonly TaskStatusValue[] = ['SUCCEEDED', 'FAILED'];
const KNOWN_STATUSES: ReadonlySet<string> = new Set<TaskStatusValue>(['QUEUED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'UNKNOWN']);

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its migrator would
 * run each migration statement by statement: a crash between two of them would leave a table
 * without its index and a migration that fails on every later start. Saying so lets each migration
 * commit whole, with its bookkeeping row.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

function toTaskStatus(value: string): TaskStatusValue {
  // A status this version does not know (written by a newer one) reads as UNKNOWN, never as a lie.
  return KNOWN_STATUSES.has(value) ? (value as TaskStatusValue) : 'UNKNOWN';
}

function toTaskRecord(row: TaskHistoryRow): TaskRecord {
  return {
    owner: row.owner,
    taskId: row.task_id,
    prompt: row.prompt,
    createdAt: new Date(Number(row.created_at)),
    status: toTaskStatus(row.status),
    updatedAt: new Date(Number(row.updated_at)),
    createdBy: row.created_by === '' ? null : row.created_by,
  };
}

/** The rows of `owner` (of one creator, when given) with one of `statuses` (all rows when there are none). */
function ownerMatches(owner: HistoryOwner, statuses: readonly TaskStatusValue[] | undefined, createdBy: string | undefined) {
  return (eb: ExpressionBuilder<HistoryTables, 'task_history'>) =>
    eb.and([
      eb('owner', '=', owner),
      ...(createdBy === undefined ? [] : [eb('created_by', '=', createdBy)]),
      ...(statuses === undefined || statuses.length === 0 ? [] : [eb('status', 'in', statuses)]),
    ]);
}

export class SqlTaskHistory implements TaskHistory {
  readonly #db: Kysely<HistoryTables>;

  constructor(db: Kysely<HistoryTables>) {
    this.#db = db;
  }

  async record(entry: { owner: HistoryOwner; taskId: string; prompt: string; createdAt: Date; createdBy?: string | null | undefined }): Promise<void> {
    const at = entry.createdAt.getTime();
    // One autocommitted statement: when it resolves, the row is committed (and, with the settings
    // open-task-history.ts uses, on disk).
    await this.#db
      .insertInto('task_history')
      .values({
        owner: entry.owner,
        task_id: entry.taskId,
        prompt: entry.prompt,
        created_at: at,
        status: 'QUEUED',
        updated_at: at,
        created_by: entry.createdBy ?? '',
      })
      .onConflict((conflict) => conflict.columns(['owner', 'task_id']).doNothing())
      .execute();
  }

  async getMany(owner: HistoryOwner, taskIds: readonly string[]): Promise<Map<string, TaskRecord>> {
    const found = new Map<string, TaskRecord>();
    const wanted = [...new Set(taskIds)];
    if (wanted.length === 0) return found;
    const rows = await this.#db.selectFrom('task_history').selectAll().where('owner', '=', owner).where('task_id', 'in', wanted).execute();
    for (const row of rows) found.set(row.task_id, toTaskRecord(row));
    return found;
  }

  async list(owner: HistoryOwner, query: HistoryQuery): Promise<HistoryPage> {
    const matching = ownerMatches(owner, query.statuses, query.createdBy);
    const after = query.after;
    // PostgreSQL would refuse a fractional bigint where SQLite would compare it: refuse it on both.
    if (after !== undefined && !Number.isSafeInteger(after.createdAtMs)) throw new RangeError('a history cursor needs whole epoch milliseconds');
    const matchingRows = this.#db.selectFrom('task_history').selectAll().where(matching);
    const page = (
      after === undefined
        ? matchingRows
        : // Keyset pagination: strictly after the cursor in (created_at, task_id) descending order,
          // a range on the index rather than an offset that rereads every earlier page.
          matchingRows.where((eb) => eb(eb.refTuple('created_at', 'task_id'), '<', eb.tuple(after.createdAtMs, after.taskId)))
    )
      .orderBy('created_at', 'desc')
      .orderBy('task_id', 'desc')
      // One row more than asked says whether another page follows, without a second query.
      .limit(query.first + 1)
      .execute();
    const [rows, totalCount] = await Promise.all([page, query.withTotalCount === false ? undefined : this.count(owner, query)]);
    return {
      records: rows.slice(0, query.first).map(toTaskRecord),
      hasNextPage: rows.length > query.first,
      totalCount,
    };
  }

  async count(owner: HistoryOwner, query: Pick<HistoryQuery, 'statuses' | 'createdBy'>): Promise<number> {
    const { total } = await this.#db
      .selectFrom('task_history')
      .select((eb) => eb.fn.countAll<number | string>().as('total'))
      .where(ownerMatches(owner, query.statuses, query.createdBy))
      .executeTakeFirstOrThrow();
    return Number(total);
  }

  async noteStatus(taskId: string, status: TaskStatusValue, at: Date): Promise<void> {
    const atMs = at.getTime();
    await this.#db
      .updateTable('task_history')
      // Reaching SUCCEEDED makes the task's videos due for copying at once.
      .set(status === 'SUCCEEDED' ? { status, updated_at: atMs, copy_state: 'PENDING', copy_due_at: 0 } : { status, updated_at: atMs })
      .where('task_id', '=', taskId)
      // Unchanged: no write at all (a poller may note every read).
      .where('status', '<>', status)
      // A terminal status is final.
      .where('status', 'not in', TERMINAL_STATUSES)
      // Reads can land out of order: an older read must not overwrite a newer one, except that a
      // terminal status wins whenever it was read (the task cannot have left it since).
      .$if(!isTerminalStatus(status), (update) => update.where('updated_at', '<=', atMs))
      .execute();
  }

  async listUnfinished(query: UnfinishedQuery): Promise<TaskRecord[]> {
    const after = query.after;
    if (after !== undefined && !Number.isSafeInteger(after.createdAtMs)) throw new RangeError('a history cursor needs whole epoch milliseconds');
    const unfinished = this.#db
      .selectFrom('task_history')
      .selectAll()
      // Word for word the partial index's condition, as literal SQL: both planners use a partial
      // index only when the query's condition provably implies the index's, which a bound
      // parameter does not.
      .where(sql.raw<boolean>(UNFINISHED));
    const rows = await (after === undefined
      ? unfinished
      : unfinished.where((eb) => eb(eb.refTuple('created_at', 'task_id'), '>', eb.tuple(after.createdAtMs, after.taskId)))
    )
      .orderBy('created_at', 'asc')
      .orderBy('task_id', 'asc')
      .limit(query.limit)
      .execute();
    return rows.map(toTaskRecord);
  }

  async claimCopies(query: CopyClaimQuery): Promise<CopyClaim[]> {
    const now = query.now.getTime();
    const due = this.#db
      .selectFrom('task_history')
      .select(['owner', 'task_id'])
      // Literal, like UNFINISHED: the partial index's own condition.
      .where(sql.raw<boolean>(COPY_PENDING))
      .where('copy_due_at', '<=', now)
      .$if(query.taskId !== undefined, (select) => select.where('task_id', '=', query.taskId ?? ''))
      .orderBy('copy_due_at', 'asc')
      .limit(query.limit);
    const rows = await this.#db
      .updateTable('task_history')
      .set((eb) => ({ copy_due_at: query.leaseUntil.getTime(), copy_attempts: eb('copy_attempts', '+', 1) }))
      .where((eb) => eb(eb.refTuple('owner', 'task_id'), 'in', due.$asTuple('owner', 'task_id')))
      // Checked again on the row itself: on PostgreSQL a replica that claimed it first has moved
      // copy_due_at by the time this update gets the row lock, so the row drops out here.
      .where(sql.raw<boolean>(COPY_PENDING))
      .where('copy_due_at', '<=', now)
      .returning(['owner', 'task_id', 'copy_attempts'])
      .execute();
    return rows.map((row) => ({ owner: row.owner, taskId: row.task_id, attempts: Number(row.copy_attempts) }));
  }

  async completeCopies(owner: HistoryOwner, taskId: string, copies: readonly VideoCopy[]): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('task_history')
        .set({ copy_state: 'STORED' })
        .where('owner', '=', owner)
        .where('task_id', '=', taskId)
        .executeTakeFirst();
      if (marked.numUpdatedRows === 0n) return false;
      await trx.deleteFrom('video_copies').where('owner', '=', owner).where('task_id', '=', taskId).execute();
      if (copies.length > 0) {
        await trx
          .insertInto('video_copies')
          .values(
            copies.map((copy) => ({
              owner,
              task_id: taskId,
              video_index: copy.index,
              storage_key: copy.key,
              format: copy.format,
              bytes: copy.bytes,
              stored_at: copy.storedAt.getTime(),
            })),
          )
          .execute();
      }
      return true;
    });
  }

  async deferCopies(owner: HistoryOwner, taskId: string, retryAt: Date): Promise<void> {
    await this.#db
      .updateTable('task_history')
      .set({ copy_due_at: retryAt.getTime() })
      .where('owner', '=', owner)
      .where('task_id', '=', taskId)
      .where(sql.raw<boolean>(COPY_PENDING))
      .execute();
  }

  async getCopies(owner: HistoryOwner, taskIds: readonly string[]): Promise<Map<string, VideoCopy[]>> {
    const found = new Map<string, VideoCopy[]>();
    const wanted = [...new Set(taskIds)];
    if (wanted.length === 0) return found;
    const rows = await this.#db
      .selectFrom('video_copies')
      .selectAll()
      .where('owner', '=', owner)
      .where('task_id', 'in', wanted)
      .orderBy('task_id')
      .orderBy('video_index')
      .execute();
    for (const row of rows) {
      const copies = found.get(row.task_id) ?? [];
      copies.push({
        index: Number(row.video_index),
        key: row.storage_key,
        format: row.format === 'GIF' ? 'GIF' : 'MP4',
        bytes: Number(row.bytes),
        storedAt: new Date(Number(row.stored_at)),
      });
      found.set(row.task_id, copies);
    }
    return found;
  }

  async listExpired(before: Date, limit: number): Promise<ExpiredRecord[]> {
    const rows = await this.#db
      .selectFrom('task_history')
      .select(['owner', 'task_id'])
      .where('created_at', '<', before.getTime())
      .orderBy('created_at', 'asc')
      .orderBy('task_id', 'asc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ owner: row.owner, taskId: row.task_id }));
  }

  async delete(owner: HistoryOwner, taskId: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      // The record first: on PostgreSQL this waits for a completeCopies holding the row, so the
      // copy rows it commits are there to delete next (the other order would miss them).
      const result = await trx.deleteFrom('task_history').where('owner', '=', owner).where('task_id', '=', taskId).executeTakeFirst();
      await trx.deleteFrom('video_copies').where('owner', '=', owner).where('task_id', '=', taskId).execute();
      return result.numDeletedRows > 0n;
    });
  }

  async sharedSecret(name: string, create: () => string): Promise<string> {
    await this.#db
      .insertInto('gateway_secrets')
      .values({ name, value: create() })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    const row = await this.#db.selectFrom('gateway_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }

  async close(): Promise<void> {
    // Closes the SQLite file (checkpointing its WAL) or ends the pool's connections.
    await this.#db.destroy();
  }
}

/**
 * The history on this connection, its schema brought up to date first. The connection is the
 * history's from then on: `close()` closes it.
 */
export async function openSqlTaskHistory(connection: SqlConnection): Promise<SqlTaskHistory> {
  const dialect =
    connection.flavor === 'sqlite' ? new TransactionalDdlSqliteDialect({ database: connection.database }) : new PostgresDialect({ pool: connection.pool });
  const db = new Kysely<HistoryTables>({ dialect });
  try {
    await migrateHistory(db, connection.flavor satisfies SqlFlavor);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new SqlTaskHistory(db);
}
