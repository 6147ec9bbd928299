// Opens the task history the configuration asks for: PostgreSQL at DATABASE_URL (many replicas
// share it), or else a SQLite file under DATA_DIR (the default: nothing to install). Connection
// settings that decide durability and how long a caller can wait live here; the queries do not
// know which store they run on (sql-task-history.ts).
import { firstLineOf } from '../error-details.js';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { HistoryConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { SecretScrubber } from '../upstream/scrub.js';
import { openSqlTaskHistory } from './sql-task-history.js';
import type { TaskHistory } from './task-history.js';

export const SQLITE_FILE_NAME = 'gateway.sqlite';

/** PostgreSQL connections one gateway holds at most: its writes are one per create or status change. */
const PG_MAX_CONNECTIONS = 10;
/** A pool that cannot hand out a connection within this fails the call rather than queue forever. */
const PG_CONNECT_TIMEOUT_MS = 5_000;
/** The server cancels a statement that runs longer (a lock wait, a runaway plan). */
const PG_STATEMENT_TIMEOUT_MS = 10_000;
/** ...and the client stops waiting a little later, should the server not answer at all. */
const PG_QUERY_TIMEOUT_MS = 12_000;
const PG_IDLE_TIMEOUT_MS = 30_000;
/** SQLite waits this long for a lock held by another connection before it reports SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

export class TaskHistoryOpenError extends Error {
  override readonly name = 'TaskHistoryOpenError';
}

/** Where a PostgreSQL URL points, for logs and errors: no user, password or query parameters. */
function describePostgres(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparseable)';
  }
}

/** Every secret a PostgreSQL URL can carry, as it may reappear in a driver's error text. */
function secretsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = [parsed.password, parsed.searchParams.get('password'), parsed.searchParams.get('sslpassword')];
    const decoded = secrets.map((secret) => {
      try {
        return secret ? decodeURIComponent(secret) : secret;
      } catch {
        return secret;
      }
    });
    return [...secrets, ...decoded].filter((secret): secret is string => typeof secret === 'string' && secret !== '');
  } catch {
    return [];
  }
}


async function openPostgres(databaseUrl: string, logger: Logger): Promise<TaskHistory> {
  const where = describePostgres(databaseUrl);
  const scrubber = new SecretScrubber(secretsOf(databaseUrl));
  const log = logger.child({ component: 'task-history', store: 'postgres', database: where });
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: PG_MAX_CONNECTIONS,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: PG_IDLE_TIMEOUT_MS,
    statement_timeout: PG_STATEMENT_TIMEOUT_MS,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    application_name: 'video-gateway',
  });
  // An idle connection that breaks (server restart, network) is reported here; without a listener
  // the pool's 'error' event would end the process. The pool opens a new one on the next call.
  pool.on('error', (error) => log.warn({ err: { message: scrubber.scrub(firstLineOf(error)) } }, 'task history: an idle PostgreSQL connection failed'));
  let history: TaskHistory;
  try {
    history = await openSqlTaskHistory({ flavor: 'postgres', pool });
  } catch (error) {
    // openSqlTaskHistory has ended the pool. The driver's error is not kept as `cause`: whoever
    // logs this error whole must not find the URL's password in it.
    throw new TaskHistoryOpenError(`the task history cannot open PostgreSQL at DATABASE_URL (${where}): ${scrubber.scrub(firstLineOf(error))}`);
  }
  // PostgreSQL commits are durable by default (synchronous_commit = on): nothing to set here.
  log.info('task history opened on PostgreSQL');
  return history;
}

/**
 * The SQLite file: WAL, so reads never wait for a write; synchronous=FULL, so a commit is on disk
 * (the WAL fsynced) before `record` resolves. NORMAL would survive a killed process, since the
 * write has reached the kernel, but not a power cut or a kernel crash, which can take the last
 * commits with them: a task whose id a client already holds. FULL costs one fsync per write, and
 * the writes are one per create and one per status change.
 */
async function openSqlite(dataDir: string, logger: Logger): Promise<TaskHistory> {
  const file = resolve(join(dataDir, SQLITE_FILE_NAME));
  const log = logger.child({ component: 'task-history', store: 'sqlite', file });
  let database: Database.Database;
  try {
    mkdirSync(dataDir, { recursive: true });
    database = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new TaskHistoryOpenError(`the task history cannot open ${file} (set DATA_DIR to a writable folder): ${firstLineOf(error)}`, { cause: error });
  }
  try {
    const journalMode = database.pragma('journal_mode = WAL', { simple: true });
    // Some file systems (network shares) cannot hold a WAL; the rollback journal is still durable.
    if (journalMode !== 'wal') log.warn({ journalMode }, 'task history: SQLite could not use WAL here; writes will block reads');
    database.pragma('synchronous = FULL');
    const history = await openSqlTaskHistory({ flavor: 'sqlite', database });
    log.info('task history opened on SQLite');
    return history;
  } catch (error) {
    if (database.open) database.close();
    throw new TaskHistoryOpenError(`the task history cannot use ${file} (DATA_DIR): ${firstLineOf(error)}`, { cause: error });
  }
}

/** The history the configuration names, its schema up to date. Throws TaskHistoryOpenError. */
export async function openTaskHistory(options: HistoryConfig & { logger: Logger }): Promise<TaskHistory> {
  return options.databaseUrl !== undefined ? openPostgres(options.databaseUrl, options.logger) : openSqlite(options.dataDir, options.logger);
}
