// The task history's schema, as migrations kept in code (no files are read at run time, so the
// gateway runs from any working directory and a bundle carries its schema). They run at every
// open; ones already applied are skipped, so a restart is a no-op.
//
// Rules for adding one: append a new key that sorts after the others (Kysely runs them in name
// order and refuses a database that has run a name this list lacks); never edit one that has
// shipped; write it for both SQLite and PostgreSQL (`flavor` says which).
import { Migrator, sql, type Kysely, type Migration } from 'kysely';

export type SqlFlavor = 'sqlite' | 'postgres';

/**
 * Text columns that are compared or sorted compare byte by byte on both stores. SQLite's default
 * (BINARY) already does; PostgreSQL's default follows the database's locale ("B" before "a" in
 * C, after it in en_US), which would make the tie-break order, and so the cursors, differ
 * between the two stores. "C" is byte order on every PostgreSQL.
 */
function byteOrder(flavor: SqlFlavor) {
  return flavor === 'postgres' ? sql`collate "C"` : sql``;
}

/**
 * A task the gateway must still follow: no terminal status seen yet. The partial index below and
 * the query that lists such tasks (sql-task-history.ts) share this text, so the planners can match them.
 */
export const UNFINISHED = "status not in ('SUCCEEDED', 'FAILED')";

/** A task whose videos still need copying; shared with its partial index, as UNFINISHED is. */
export const COPY_PENDING = "copy_state = 'PENDING'";

function historyMigrations(flavor: SqlFlavor): Record<string, Migration> {
  return {
    '2026-12-01-task-history': {
      // Kysely<any>: a migration is written against the schema as it was then, not today's types.
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('task_history')
          .addColumn('owner', 'text', (column) => column.notNull().modifyEnd(byteOrder(flavor)))
          .addColumn('task_id', 'text', (column) => column.notNull().modifyEnd(byteOrder(flavor)))
          .addColumn('prompt', 'text', (column) => column.notNull())
          // Epoch milliseconds, not timestamptz: SQLite has no time type, and an integer sorts and
          // compares the same on both stores, at the precision of a JavaScript Date.
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .addColumn('status', 'text', (column) => column.notNull())
          .addColumn('updated_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('task_history_pkey', ['owner', 'task_id'])
          .execute();
        // A tenant's history, newest first, a page at a time: `owner = ?` then a range on
        // (created_at, task_id), read backwards. `status` rides along so a status filter and the
        // count are answered from the index without reading the rows.
        await db.schema.createIndex('task_history_by_owner_newest').on('task_history').columns(['owner', 'created_at', 'task_id', 'status']).execute();
        // noteStatus finds a task by its upstream id alone, whoever owns it.
        await db.schema.createIndex('task_history_by_task_id').on('task_history').column('task_id').execute();
      },
    },
    '2026-12-02-unfinished-tasks': {
      async up(db: Kysely<any>) {
        // Following resumes every unfinished task at start and rescans for them now and then, across
        // owners, oldest first: a range on this index, which holds only unfinished tasks, so its size
        // (and each scan) follows what is still running, not the whole history. (Written out here,
        // not from UNFINISHED: a shipped migration never changes.)
        await db.schema
          .createIndex('task_history_unfinished_oldest')
          .on('task_history')
          .columns(['created_at', 'task_id'])
          .where(sql.raw<boolean>("status not in ('SUCCEEDED', 'FAILED')"))
          .execute();
      },
    },
    '2026-12-03-video-copies': {
      async up(db: Kysely<any>) {
        // Copying a task's videos: NONE until it succeeds, PENDING until every copy is stored, then
        // STORED. `copy_due_at` is when the next attempt may start; a claim moves it to the end of
        // its lease, so a process that dies while copying leaves the task due again then.
        // (SQLite adds one column per statement.)
        await db.schema.alterTable('task_history').addColumn('copy_state', 'text', (column) => column.notNull().defaultTo('NONE')).execute();
        await db.schema.alterTable('task_history').addColumn('copy_attempts', 'integer', (column) => column.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('task_history').addColumn('copy_due_at', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
        // Tasks that succeeded before this version get their copies too (a fresh read renews the link).
        await db.updateTable('task_history').set({ copy_state: 'PENDING' }).where('status', '=', 'SUCCEEDED').execute();
        // The copier's scan: due copies, longest due first, from an index that holds only those.
        await db.schema
          .createIndex('task_history_copies_due')
          .on('task_history')
          .column('copy_due_at')
          .where(sql.raw<boolean>("copy_state = 'PENDING'"))
          .execute();
        // The retention sweep: the oldest records of every owner.
        await db.schema.createIndex('task_history_oldest').on('task_history').columns(['created_at', 'task_id']).execute();
        await db.schema
          .createTable('video_copies')
          .addColumn('owner', 'text', (column) => column.notNull().modifyEnd(byteOrder(flavor)))
          .addColumn('task_id', 'text', (column) => column.notNull().modifyEnd(byteOrder(flavor)))
          .addColumn('video_index', 'integer', (column) => column.notNull())
          .addColumn('storage_key', 'text', (column) => column.notNull())
          .addColumn('format', 'text', (column) => column.notNull())
          .addColumn('bytes', 'bigint', (column) => column.notNull())
          .addColumn('stored_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('video_copies_pkey', ['owner', 'task_id', 'video_index'])
          .execute();
        // Secrets every replica must agree on (the key that signs video links), made at first use.
        await db.schema
          .createTable('gateway_secrets')
          .addColumn('name', 'text', (column) => column.primaryKey())
          .addColumn('value', 'text', (column) => column.notNull())
          .execute();
      },
    },
    '2026-12-04-task-creators': {
      async up(db: Kysely<any>) {
        // Which signed-in user of the tenant created the task ('' for a client key, or an open
        // gateway): a user's history lists only theirs, newest first, from this index.
        await db.schema
          .alterTable('task_history')
          .addColumn('created_by', 'text', (column) => column.notNull().defaultTo('').modifyEnd(byteOrder(flavor)))
          .execute();
        await db.schema
          .createIndex('task_history_by_creator_newest')
          .on('task_history')
          .columns(['owner', 'created_by', 'created_at', 'task_id', 'status'])
          .execute();
      },
    },
  };
}

/**
 * Brings the schema up to date. On PostgreSQL, replicas starting together take turns (Kysely holds
 * an advisory lock); every migration and its bookkeeping row commit together on both stores.
 * (Kysely<any>: the Migrator works on any schema; migrations do not know today's table types.)
 */
export async function migrateHistory(db: Kysely<any>, flavor: SqlFlavor): Promise<void> {
  const migrations = historyMigrations(flavor);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  for (let attempt = 1; ; attempt += 1) {
    const { error, results } = await migrator.migrateToLatest();
    if (error === undefined) return;
    // Two processes opening one new SQLite file at once: the one whose read transaction could not
    // become a write transaction gets SQLITE_BUSY at once (waiting could deadlock). Its next try
    // finds the other's migrations committed and has nothing left to do.
    if (flavor === 'sqlite' && attempt < SQLITE_BUSY_ATTEMPTS && isSqliteBusy(error)) {
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      continue;
    }
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    // No migration failed: the database could not be reached or read; that error says it best.
    if (failed === undefined) throw error;
    throw new Error(`task history migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

const SQLITE_BUSY_ATTEMPTS = 5;

function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
