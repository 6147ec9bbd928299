// The durable task history (src/history/): one suite, run on SQLite under a fresh DATA_DIR and on a
// throwaway PostgreSQL database, through the same openTaskHistory the gateway uses. Each test
// works under owners and task ids of its own, so tests share one store without meeting.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { openTaskHistory, SQLITE_FILE_NAME, TaskHistoryOpenError } from '../src/history/open-task-history.js';
import type { HistoryCursor, TaskHistory, TaskRecord } from '../src/history/task-history.js';
import { createLogger, type Logger } from '../src/logger.js';
import { createThrowawayDatabase, postgresAvailableOrExplain, postgresMajorVersion, type ThrowawayDatabase } from './support/postgres.js';

const postgresRuns = await postgresAvailableOrExplain('Task history on PostgreSQL');

const silent = createLogger({ logLevel: 'silent' });
const BASE_MS = Date.UTC(2026, 10, 1, 12, 0, 0);

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Newest first, ties on createdAt broken by taskId descending (byte order, as both stores sort). */
function newestFirst(a: { createdAt: Date; taskId: string }, b: { createdAt: Date; taskId: string }): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.taskId < b.taskId ? 1 : a.taskId > b.taskId ? -1 : 0;
}

function cursorOf(record: TaskRecord): HistoryCursor {
  return { createdAtMs: record.createdAt.getTime(), taskId: record.taskId };
}

interface StoreUnderTest {
  open(logger?: Logger): Promise<TaskHistory>;
  dispose(): Promise<void>;
  /** SQLite only: the DATA_DIR it lives in. */
  dataDir?: string;
}

function historySuite(name: string, runs: boolean, setUp: () => Promise<StoreUnderTest>, extra: (store: () => StoreUnderTest) => void = () => {}) {
  (runs ? describe : describe.skip)(`task history on ${name}`, () => {
    let store: StoreUnderTest;
    let history: TaskHistory;
    beforeAll(async () => {
      store = await setUp();
      history = await store.open();
    });
    afterAll(async () => {
      await history?.close();
      await store?.dispose();
    });

    async function recordAll(owner: string, entries: { taskId: string; createdAt: Date; prompt?: string }[]): Promise<void> {
      for (const entry of entries) await history.record({ owner, prompt: entry.prompt ?? `prompt of ${entry.taskId}`, ...entry });
    }

    it('returns what was recorded, to its owner only', async () => {
      const owner = unique('tenant');
      const stranger = unique('tenant');
      const taskId = unique('task');
      const createdAt = new Date(BASE_MS + 123);
      await history.record({ owner, taskId, prompt: '@1 waves at the camera — «ünïcødé» 🎬', createdAt });

      const found = await history.getMany(owner, [taskId, unique('never-recorded')]);
      expect([...found.keys()]).toEqual([taskId]);
      expect(found.get(taskId)).toEqual({ owner, taskId, prompt: '@1 waves at the camera — «ünïcødé» 🎬', createdAt, status: 'QUEUED', updatedAt: createdAt });

      expect((await history.getMany(stranger, [taskId])).size).toBe(0);
      expect(await history.list(stranger, { first: 10 })).toEqual({ records: [], hasNextPage: false, totalCount: 0 });
      expect((await history.getMany(owner, [])).size).toBe(0);
    });

    it('records the same (owner, task) once, keeping the first record', async () => {
      const owner = unique('tenant');
      const taskId = unique('task');
      await history.record({ owner, taskId, prompt: 'first', createdAt: new Date(BASE_MS) });
      await history.record({ owner, taskId, prompt: 'second', createdAt: new Date(BASE_MS + 5000) });
      const page = await history.list(owner, { first: 10 });
      expect(page.totalCount).toBe(1);
      expect(page.records.map((record) => [record.prompt, record.createdAt.getTime()])).toEqual([['first', BASE_MS]]);
    });

    it('lists newest first, ties on createdAt broken by task id in byte order', async () => {
      const owner = unique('tenant');
      // Upper case, lower case, digits and punctuation: a linguistic collation would order these
      // differently from byte order, and differently on each store.
      const tied = ['task-B', 'task-a', 'task-_', 'task-1', 'task-Z', 'task-z', 'task-é'].map((taskId) => ({ taskId, createdAt: new Date(BASE_MS + 1000) }));
      const entries = [...tied, { taskId: 'task-older', createdAt: new Date(BASE_MS) }, { taskId: 'task-newer', createdAt: new Date(BASE_MS + 2000) }];
      await recordAll(owner, entries);
      const page = await history.list(owner, { first: 100 });
      expect(page.records.map((record) => record.taskId)).toEqual([...entries].sort(newestFirst).map((entry) => entry.taskId));
      expect(page.records.map((record) => record.taskId).slice(0, 3)).toEqual(['task-newer', 'task-é', 'task-z']);
      expect(page).toMatchObject({ hasNextPage: false, totalCount: entries.length });
    });

    it('pages through 250 records by cursor with no duplicate and no gap', async () => {
      const owner = unique('tenant');
      // Four tasks share each millisecond, so pages split inside runs of ties.
      const entries = Array.from({ length: 250 }, (_, index) => ({ taskId: randomUUID(), createdAt: new Date(BASE_MS + Math.floor(index / 4)) }));
      await recordAll(owner, entries);
      const expected = [...entries].sort(newestFirst).map((entry) => entry.taskId);

      for (const first of [20, 7, 100]) {
        const seen: string[] = [];
        let after: HistoryCursor | undefined;
        for (;;) {
          const page = await history.list(owner, { first, after });
          expect(page.totalCount).toBe(250);
          expect(page.records.length).toBeLessThanOrEqual(first);
          seen.push(...page.records.map((record) => record.taskId));
          if (!page.hasNextPage) break;
          expect(page.records.length).toBe(first);
          after = cursorOf(page.records.at(-1)!);
        }
        expect(seen).toEqual(expected);
      }
      // A page that ends exactly at the last record says there is no next page.
      const cursor = entries.find((entry) => entry.taskId === expected[199])!;
      const exact = await history.list(owner, { first: 50, after: { createdAtMs: cursor.createdAt.getTime(), taskId: cursor.taskId } });
      expect(exact.records.map((record) => record.taskId)).toEqual(expected.slice(200));
      expect(exact.hasNextPage).toBe(false);
    });

    it('resumes after a cursor whose record has since been deleted', async () => {
      const owner = unique('tenant');
      const entries = Array.from({ length: 6 }, (_, index) => ({ taskId: `task-${index}`, createdAt: new Date(BASE_MS + index) }));
      await recordAll(owner, entries);
      const firstPage = await history.list(owner, { first: 3 });
      const last = firstPage.records.at(-1)!;
      expect(await history.delete(owner, last.taskId)).toBe(true);
      const next = await history.list(owner, { first: 3, after: cursorOf(last) });
      expect(next.records.map((record) => record.taskId)).toEqual(['task-2', 'task-1', 'task-0']);
      expect(next.totalCount).toBe(5);
    });

    it('refuses a cursor that is not whole milliseconds, the same way on every store', async () => {
      const owner = unique('tenant');
      for (const createdAtMs of [1.5, Number.NaN, 2 ** 64]) {
        await expect(history.list(owner, { first: 5, after: { createdAtMs, taskId: 't' } })).rejects.toBeInstanceOf(RangeError);
      }
    });

    it('filters by last-known status, counting only the matches whatever the cursor', async () => {
      const owner = unique('tenant');
      const entries = Array.from({ length: 8 }, (_, index) => ({ taskId: unique(`task-${index}`), createdAt: new Date(BASE_MS + index * 10) }));
      await recordAll(owner, entries);
      const statuses = ['QUEUED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'PROCESSING', 'SUCCEEDED', 'QUEUED'] as const;
      for (const [index, status] of statuses.entries()) {
        if (status !== 'QUEUED') await history.noteStatus(entries[index]!.taskId, status, new Date(BASE_MS + 60_000));
      }
      const ended = entries.filter((_, index) => statuses[index] === 'SUCCEEDED' || statuses[index] === 'FAILED').sort(newestFirst);

      const page = await history.list(owner, { first: 2, statuses: ['SUCCEEDED', 'FAILED'] });
      expect(page.records.map((record) => record.taskId)).toEqual(ended.slice(0, 2).map((entry) => entry.taskId));
      expect(page.records.map((record) => record.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      expect(page).toMatchObject({ hasNextPage: true, totalCount: 4 });

      const rest = await history.list(owner, { first: 2, statuses: ['SUCCEEDED', 'FAILED'], after: cursorOf(page.records[1]!) });
      expect(rest.records.map((record) => record.taskId)).toEqual(ended.slice(2).map((entry) => entry.taskId));
      expect(rest).toMatchObject({ hasNextPage: false, totalCount: 4 });

      expect((await history.list(owner, { first: 10, statuses: ['PROCESSING'] })).totalCount).toBe(2);
      expect((await history.list(owner, { first: 10, statuses: ['UNKNOWN'] })).totalCount).toBe(0);
      // An empty filter is no filter.
      expect((await history.list(owner, { first: 10, statuses: [] })).totalCount).toBe(8);
    });

    it('notes statuses forward, never out of a terminal one, and ignores older reads', async () => {
      const owner = unique('tenant');
      const taskId = unique('task');
      const statusAt = async () => {
        const record = (await history.getMany(owner, [taskId])).get(taskId)!;
        return [record.status, record.updatedAt.getTime()];
      };
      await history.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });

      await history.noteStatus(taskId, 'PROCESSING', new Date(BASE_MS + 2000));
      expect(await statusAt()).toEqual(['PROCESSING', BASE_MS + 2000]);
      // A read taken before the one already noted (it lost a race) changes nothing.
      await history.noteStatus(taskId, 'QUEUED', new Date(BASE_MS + 1000));
      expect(await statusAt()).toEqual(['PROCESSING', BASE_MS + 2000]);
      // The same status again is no write: updatedAt says when the status last changed.
      await history.noteStatus(taskId, 'PROCESSING', new Date(BASE_MS + 3000));
      expect(await statusAt()).toEqual(['PROCESSING', BASE_MS + 2000]);

      await history.noteStatus(taskId, 'SUCCEEDED', new Date(BASE_MS + 4000));
      expect(await statusAt()).toEqual(['SUCCEEDED', BASE_MS + 4000]);
      await history.noteStatus(taskId, 'PROCESSING', new Date(BASE_MS + 5000));
      await history.noteStatus(taskId, 'FAILED', new Date(BASE_MS + 6000));
      await history.noteStatus(taskId, 'UNKNOWN', new Date(BASE_MS + 7000));
      expect(await statusAt()).toEqual(['SUCCEEDED', BASE_MS + 4000]);

      // A terminal status wins even when noted late: the task cannot have left it.
      const late = unique('task');
      await history.record({ owner, taskId: late, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.noteStatus(late, 'PROCESSING', new Date(BASE_MS + 9000));
      await history.noteStatus(late, 'FAILED', new Date(BASE_MS + 8000));
      expect((await history.getMany(owner, [late])).get(late)?.status).toBe('FAILED');

      await expect(history.noteStatus(unique('never-recorded'), 'SUCCEEDED', new Date())).resolves.toBeUndefined();
    });

    it('notes a status on every owner that holds the task id', async () => {
      const [one, other] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      await history.record({ owner: one, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.record({ owner: other, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.noteStatus(taskId, 'SUCCEEDED', new Date(BASE_MS + 1));
      expect((await history.getMany(one, [taskId])).get(taskId)?.status).toBe('SUCCEEDED');
      expect((await history.getMany(other, [taskId])).get(taskId)?.status).toBe('SUCCEEDED');
    });

    it("deletes a task from its owner's history only", async () => {
      const [owner, other] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      const kept = unique('task');
      await history.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.record({ owner, taskId: kept, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.record({ owner: other, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });

      expect(await history.delete(unique('tenant'), taskId)).toBe(false);
      expect(await history.delete(owner, taskId)).toBe(true);
      expect(await history.delete(owner, taskId)).toBe(false);

      expect((await history.getMany(owner, [taskId])).size).toBe(0);
      const page = await history.list(owner, { first: 10 });
      expect(page.records.map((record) => record.taskId)).toEqual([kept]);
      expect(page.totalCount).toBe(1);
      expect((await history.getMany(other, [taskId])).get(taskId)?.owner).toBe(other);
    });

    it('lists the unfinished tasks of every owner, oldest first, page by page, without a finished one', async () => {
      const [one, other] = [unique('tenant'), unique('tenant')];
      const mine = new Set<string>();
      const entries = Array.from({ length: 14 }, (_, i) => {
        const taskId = unique(`unfinished-${String(i).padStart(2, '0')}`);
        mine.add(taskId);
        // Pairs share a createdAt: the task id breaks the tie.
        return { owner: i % 2 === 0 ? one : other, taskId, createdAt: new Date(BASE_MS + 50_000 + Math.floor(i / 2) * 1000) };
      });
      for (const entry of entries) await history.record({ ...entry, prompt: 'p' });
      const finished = new Set([entries[1]!.taskId, entries[4]!.taskId, entries[9]!.taskId]);
      await history.noteStatus(entries[1]!.taskId, 'SUCCEEDED', new Date(BASE_MS + 60_000));
      await history.noteStatus(entries[4]!.taskId, 'FAILED', new Date(BASE_MS + 60_000));
      await history.noteStatus(entries[9]!.taskId, 'SUCCEEDED', new Date(BASE_MS + 60_000));
      // Still to follow: QUEUED, PROCESSING and UNKNOWN alike.
      await history.noteStatus(entries[2]!.taskId, 'PROCESSING', new Date(BASE_MS + 60_000));
      await history.noteStatus(entries[3]!.taskId, 'UNKNOWN', new Date(BASE_MS + 60_000));

      // The whole store, 5 at a time (other tests' tasks included), keeping this test's.
      const seen: TaskRecord[] = [];
      let after: HistoryCursor | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(1000);
        const page = await history.listUnfinished({ after, limit: 5 });
        expect(page.length).toBeLessThanOrEqual(5);
        for (const record of page) expect(['SUCCEEDED', 'FAILED']).not.toContain(record.status);
        seen.push(...page);
        if (page.length < 5) break;
        after = { createdAtMs: page.at(-1)!.createdAt.getTime(), taskId: page.at(-1)!.taskId };
        // A task that finishes between two pages changes nothing about the next page's start.
        if (pages === 0) await history.noteStatus(page[0]!.taskId, 'SUCCEEDED', new Date(BASE_MS + 70_000));
      }
      const ours = seen.filter((record) => mine.has(record.taskId));
      const expected = entries.filter((entry) => !finished.has(entry.taskId)).sort((a, b) => -newestFirst(a, b));
      expect(ours.map((record) => [record.owner, record.taskId])).toEqual(expected.map((entry) => [entry.owner, entry.taskId]));
      // Oldest first over everything listed, no record twice.
      const keys = seen.map((record) => `${record.owner}\n${record.taskId}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...seen].sort((a, b) => -newestFirst(a, b))).toEqual(seen);
    });

    it('lists an unfinished task once per owner that holds it, and refuses a fractional cursor', async () => {
      const [one, other] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      const createdAt = new Date(BASE_MS + 80_000);
      await history.record({ owner: one, taskId, prompt: 'p', createdAt });
      await history.record({ owner: other, taskId, prompt: 'p', createdAt });
      const page = await history.listUnfinished({ after: { createdAtMs: createdAt.getTime() - 1, taskId: '' }, limit: 1000 });
      expect(page.filter((record) => record.taskId === taskId).map((record) => record.owner).sort()).toEqual([one, other].sort());
      await expect(history.listUnfinished({ after: { createdAtMs: 1.5, taskId: 'x' }, limit: 5 })).rejects.toThrow(RangeError);
    });

    it('opens again on the same store: migrations are a no-op and the data is there', async () => {
      const owner = unique('tenant');
      const taskId = unique('task');
      await history.record({ owner, taskId, prompt: 'before reopening', createdAt: new Date(BASE_MS) });
      const { logger, lines } = capturingLogger();
      const again = await store.open(logger);
      try {
        expect((await again.getMany(owner, [taskId])).get(taskId)?.prompt).toBe('before reopening');
        expect(lines.join('')).toContain('task history opened');
      } finally {
        await again.close();
      }
    });

    extra(() => store);
  });
}

historySuite(
  'SQLite',
  true,
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'vgw-history-'));
    // A folder that does not exist yet: opening creates it.
    const dataDir = join(root, 'nested', 'data');
    return {
      open: (logger = silent) => openTaskHistory({ dataDir, databaseUrl: undefined, logger }),
      dispose: async () => rmSync(root, { recursive: true, force: true }),
      dataDir,
    };
  },
  (store) => {
    const dataDirOf = () => store().dataDir!;

    it('keeps its file under DATA_DIR in WAL mode, with each migration run once', () => {
      const file = join(dataDirOf(), SQLITE_FILE_NAME);
      expect(existsSync(file)).toBe(true);
      const database = new Database(file, { readonly: true });
      try {
        expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
        // The suite has opened the file twice by now (the reopening test).
        expect(database.prepare('select name from kysely_migration order by name').all()).toEqual([
          { name: '2026-12-01-task-history' },
          { name: '2026-12-02-unfinished-tasks' },
        ]);
      } finally {
        database.close();
      }
    });

    it('lists unfinished tasks from the partial index of unfinished tasks, not by reading the whole table', () => {
      const database = new Database(join(dataDirOf(), SQLITE_FILE_NAME), { readonly: true });
      try {
        // The statement listUnfinished sends (its condition word for word the index's).
        const plan = database
          .prepare(
            "explain query plan select * from task_history where status not in ('SUCCEEDED', 'FAILED') and (created_at, task_id) > (?, ?) order by created_at asc, task_id asc limit ?",
          )
          .all(0, '', 10) as { detail: string }[];
        expect(plan.map((row) => row.detail).join('\n')).toContain('task_history_unfinished_oldest');
      } finally {
        database.close();
      }
    });

    it('keeps every task whose record resolved when its writer is killed with SIGKILL', async () => {
      const dataDir = dataDirOf();
      const writer = spawn(process.execPath, ['--import', 'tsx', 'test/support/history-writer.ts', dataDir], {
        cwd: new URL('..', import.meta.url),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => writer.on('exit', (_code, signal) => resolve(signal)));
      const acknowledged: string[] = [];
      for await (const line of createInterface({ input: writer.stdout })) {
        acknowledged.push(line);
        // Killed while it writes on, at whatever point the 25th acknowledgement is read.
        if (acknowledged.length === 25) {
          writer.kill('SIGKILL');
          break;
        }
      }
      expect(await exited).toBe('SIGKILL');
      expect(acknowledged).toHaveLength(25);

      const reopened = await openTaskHistory({ dataDir, databaseUrl: undefined, logger: silent });
      try {
        const found = await reopened.getMany('tenant-durable', acknowledged);
        expect(acknowledged.filter((taskId) => !found.has(taskId))).toEqual([]);
      } finally {
        await reopened.close();
      }
    });
  },
);

historySuite(
  'PostgreSQL',
  postgresRuns,
  async () => {
    const database: ThrowawayDatabase = await createThrowawayDatabase();
    return {
      open: (logger = silent) => openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: database.url, logger }),
      dispose: () => database.drop(),
    };
  },
  () => {
    it('sorts task ids in byte order even where the database collates linguistically', async () => {
      if ((await postgresMajorVersion()) < 15) {
        console.warn('\n!! ICU database locales need PostgreSQL 15: the collation test is skipped\n');
        return;
      }
      const database = await createThrowawayDatabase({ icuLocale: 'en-US' });
      const history = await openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: database.url, logger: silent });
      try {
        const ids = ['task-B', 'task-a', 'task-Z', 'task-_', 'task-1'];
        for (const taskId of ids) await history.record({ owner: 'o', taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
        const page = await history.list('o', { first: 10 });
        expect(page.records.map((record) => record.taskId)).toEqual(['task-a', 'task-_', 'task-Z', 'task-B', 'task-1']);
        const next = await history.list('o', { first: 10, after: { createdAtMs: BASE_MS, taskId: 'task-_' } });
        expect(next.records.map((record) => record.taskId)).toEqual(['task-Z', 'task-B', 'task-1']);
      } finally {
        await history.close();
        await database.drop();
      }
    });

    it('lets replicas starting together migrate one at a time', async () => {
      const database = await createThrowawayDatabase();
      try {
        const replicas = await Promise.all(Array.from({ length: 3 }, () => openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: database.url, logger: silent })));
        await replicas[0]!.record({ owner: 'o', taskId: 't', prompt: 'p', createdAt: new Date(BASE_MS) });
        expect((await replicas[2]!.getMany('o', ['t'])).size).toBe(1);
        await Promise.all(replicas.map((replica) => replica.close()));
      } finally {
        await database.drop();
      }
    });

    it('logs where it opened without the password in the URL', async () => {
      const database = await createThrowawayDatabase();
      const url = new URL(database.url);
      // Trust authentication ignores the password, so the URL still connects.
      url.password = 'pg-s3cret-word';
      const { logger, lines } = capturingLogger();
      try {
        const history = await openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: url.toString(), logger });
        await history.close();
        const opened = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'task history opened on PostgreSQL');
        expect(opened).toMatchObject({ store: 'postgres', database: `postgres://127.0.0.1:5432${url.pathname}` });
        expect(lines.join('')).not.toContain('pg-s3cret-word');
      } finally {
        await database.drop();
      }
    });
  },
);

describe('opening the task history', () => {
  it('fails with one line naming DATABASE_URL, never its password, when PostgreSQL does not answer', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const { logger, lines } = capturingLogger();
    const opening = openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: `postgres://gateway:hunter2-pw@127.0.0.1:${port}/history`, logger });
    const error = await opening.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(TaskHistoryOpenError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain(`postgres://127.0.0.1:${port}/history`);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('hunter2-pw');
    expect(JSON.stringify(error)).not.toContain('hunter2-pw');
    expect(lines.join('')).not.toContain('hunter2-pw');
  });

  it('fails naming DATA_DIR when the folder cannot be created', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vgw-history-'));
    try {
      // A file where the folder should be.
      const blocked = join(root, 'a-file');
      writeFileSync(blocked, 'x');
      const error = await openTaskHistory({ dataDir: join(blocked, 'data'), databaseUrl: undefined, logger: silent }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(TaskHistoryOpenError);
      expect((error as Error).message).toContain('DATA_DIR');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('history configuration', () => {
  const base = { UPSTREAM_API_KEY: 'k'.repeat(16) };

  it('defaults to SQLite under ./data', () => {
    expect(loadConfig(base).history).toEqual({ dataDir: './data', databaseUrl: undefined });
    expect(loadConfig({ ...base, DATABASE_URL: '' }).history.databaseUrl).toBeUndefined();
  });

  it('takes DATA_DIR and a postgres URL', () => {
    const url = 'postgresql://gateway:pw@db.internal:6543/history?sslmode=require';
    expect(loadConfig({ ...base, DATA_DIR: '/var/lib/gateway', DATABASE_URL: url }).history).toEqual({ dataDir: '/var/lib/gateway', databaseUrl: url });
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres:///history?host=/var/run/postgresql' }).history.databaseUrl).toBe('postgres:///history?host=/var/run/postgresql');
  });

  it.each([
    ['mysql://gateway:hunter2-pw@db.internal/history'],
    ['postgres://gateway:hunter2-pw@db.internal'],
    ['postgres://gateway:hunter2-pw@db.internal/a/b'],
    ['postgres://gateway:hunter2-pw@/history'],
    ['hunter2-pw'],
  ])('refuses %s in one line naming DATABASE_URL, without echoing it', (value) => {
    let error: unknown;
    try {
      loadConfig({ ...base, DATABASE_URL: value });
    } catch (failure) {
      error = failure;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid configuration: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(message).not.toContain('hunter2-pw');
    expect(message).not.toContain('\n');
  });

  it('refuses an empty DATA_DIR', () => {
    expect(() => loadConfig({ ...base, DATA_DIR: '  ' })).toThrow(/^Invalid configuration: DATA_DIR must not be empty/);
  });
});
