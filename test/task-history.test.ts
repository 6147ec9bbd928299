// The durable task history (src/history/): one suite, run on SQLite under a fresh DATA_DIR and on a
// throwaway PostgreSQL database, through the same openTaskHistory the gateway uses. Each test
// works under owners and task ids of its own, so tests share one store without meeting. Calls that
// read across owners (listUnfinished, claimCopies without a task id, listExpired) are the exception:
// their tests either keep only their own tasks from the answer or use a time window no other test
// touches, each saying which.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { openTaskHistory, SQLITE_FILE_NAME, TaskHistoryOpenError } from '../src/history/open-task-history.js';
import type { CopyClaim, HistoryCursor, TaskHistory, TaskRecord, VideoCopy } from '../src/history/task-history.js';
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

/** How long the claims in these tests hold. */
const LEASE_MS = 60_000;

/** A stored copy of video `index` of a task; its size is past 2^32, as a long video's can be. */
function copyOf(taskId: string, index: number, format: VideoCopy['format'] = 'MP4'): VideoCopy {
  return { index, key: `videos/${taskId}/${index}.${format.toLowerCase()}`, format, bytes: 5_000_000_000 + index, storedAt: new Date(BASE_MS + 90_000 + index) };
}

/** Claims in a comparable order: an UPDATE … RETURNING promises none. */
function sortedClaims(claims: readonly CopyClaim[]): CopyClaim[] {
  return [...claims].sort((a, b) => (a.owner + '\n' + a.taskId < b.owner + '\n' + b.taskId ? -1 : 1));
}

/** Polls `condition` until it holds (10 s at most, generous for a loaded machine). */
async function waitUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface StoreUnderTest {
  open(logger?: Logger): Promise<TaskHistory>;
  dispose(): Promise<void>;
  /** Runs these statements in one transaction on the store's database, beside any open history. */
  runSql(statements: readonly string[]): Promise<void>;
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
      expect(found.get(taskId)).toEqual({ owner, taskId, prompt: '@1 waves at the camera — «ünïcødé» 🎬', createdAt, status: 'QUEUED', updatedAt: createdAt, createdBy: null });

      expect((await history.getMany(stranger, [taskId])).size).toBe(0);
      expect(await history.list(stranger, { first: 10 })).toEqual({ records: [], hasNextPage: false, totalCount: 0 });
      expect((await history.getMany(owner, [])).size).toBe(0);
    });

    it("lists one signed-in user's tasks only when asked, and the owner's all otherwise", async () => {
      const owner = unique('tenant');
      const tasks = [
        { taskId: unique('task'), createdBy: 'alice' },
        { taskId: unique('task'), createdBy: 'auth0|bob' },
        { taskId: unique('task'), createdBy: null },
        { taskId: unique('task'), createdBy: 'alice' },
      ];
      for (const [i, task] of tasks.entries()) await history.record({ owner, prompt: 'p', createdAt: new Date(BASE_MS + i), ...task });
      const alice = await history.list(owner, { first: 10, createdBy: 'alice' });
      expect(alice.records.map((record) => record.taskId)).toEqual([tasks[3]!.taskId, tasks[0]!.taskId]);
      expect(alice.totalCount).toBe(2);
      expect(alice.records.every((record) => record.createdBy === 'alice')).toBe(true);
      expect((await history.list(owner, { first: 10, createdBy: 'auth0|bob' })).records.map((record) => record.createdBy)).toEqual(['auth0|bob']);
      expect((await history.list(owner, { first: 10, createdBy: 'carol' })).totalCount).toBe(0);
      const all = await history.list(owner, { first: 10 });
      expect(all.totalCount).toBe(4);
      // The page alone, uncounted; and the count alone, with the same filters.
      const uncounted = await history.list(owner, { first: 10, createdBy: 'alice', withTotalCount: false });
      expect(uncounted.totalCount).toBeUndefined();
      expect(uncounted.records).toEqual(alice.records);
      expect(await history.count(owner, { createdBy: 'alice' })).toBe(2);
      expect(await history.count(owner, { statuses: ['QUEUED'] })).toBe(4);
      expect(await history.count(owner, { statuses: ['FAILED'], createdBy: 'alice' })).toBe(0);
      expect(all.records.map((record) => record.createdBy)).toEqual(['alice', null, 'auth0|bob', 'alice']);
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

    /** Records a task and notes it SUCCEEDED, which makes its copies due at once. */
    async function recordSucceeded(owner: string, taskId: string): Promise<void> {
      await history.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.noteStatus(taskId, 'SUCCEEDED', new Date(BASE_MS + 5000));
    }

    /** A claim at `nowMs` that holds for LEASE_MS. */
    function claimAt(nowMs: number, options: { taskId?: string; limit?: number } = {}): Promise<CopyClaim[]> {
      return history.claimCopies({ now: new Date(nowMs), leaseUntil: new Date(nowMs + LEASE_MS), limit: options.limit ?? 10, taskId: options.taskId });
    }

    it('makes a task due for copying when it succeeds, and claims it under a lease that counts attempts', async () => {
      const owner = unique('tenant');
      const taskId = unique('task');
      const now = BASE_MS + 10_000;
      await history.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      expect(await claimAt(now, { taskId })).toEqual([]);
      await history.noteStatus(taskId, 'PROCESSING', new Date(BASE_MS + 1000));
      expect(await claimAt(now, { taskId })).toEqual([]);

      await history.noteStatus(taskId, 'SUCCEEDED', new Date(BASE_MS + 5000));
      expect(await claimAt(now, { taskId })).toEqual([{ owner, taskId, attempts: 1 }]);
      // The lease holds: not again at the same time, nor a millisecond before it ends...
      expect(await claimAt(now, { taskId })).toEqual([]);
      expect(await claimAt(now + LEASE_MS - 1, { taskId })).toEqual([]);
      // ...and once it has run out, the task is due again (its claimer died, say).
      expect(await claimAt(now + LEASE_MS, { taskId })).toEqual([{ owner, taskId, attempts: 2 }]);

      // A task that failed has nothing to copy.
      const failed = unique('task');
      await history.record({ owner, taskId: failed, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.noteStatus(failed, 'FAILED', new Date(BASE_MS + 5000));
      expect(await claimAt(now, { taskId: failed })).toEqual([]);

      // Without a task id: every due task of every owner. A task that just succeeded is due at 0,
      // so a scan at time 0 finds it, with whatever other tests left due (earlier tests are done
      // with their tasks, and later ones make their own); this test keeps only its own from the
      // answer. Each claim moves what it takes past time 0, so the loop ends.
      const scanned = unique('task');
      await recordSucceeded(owner, scanned);
      const claimed: CopyClaim[] = [];
      for (let scans = 0; ; scans++) {
        expect(scans).toBeLessThan(100);
        const batch = await claimAt(0, { limit: 100 });
        expect(batch.length).toBeLessThanOrEqual(100);
        claimed.push(...batch);
        if (batch.length === 0) break;
      }
      expect(claimed.filter((claim) => claim.owner === owner)).toEqual([{ owner, taskId: scanned, attempts: 1 }]);
    });

    it('gives a due task to exactly one of many claims made at once', async () => {
      const owner = unique('tenant');
      const taskIds = Array.from({ length: 5 }, () => unique('task'));
      for (const taskId of taskIds) await recordSucceeded(owner, taskId);
      const now = BASE_MS + 10_000;
      // 50 claims in flight together, 10 per task: on PostgreSQL they run on separate connections
      // and the losers drop out on the row's re-check; on SQLite the single writer orders them.
      const results = await Promise.all(taskIds.flatMap((taskId) => Array.from({ length: 10 }, () => claimAt(now, { taskId }))));
      expect(sortedClaims(results.flat())).toEqual(sortedClaims(taskIds.map((taskId) => ({ owner, taskId, attempts: 1 }))));
      // The losing claims counted no attempt.
      for (const taskId of taskIds) expect(await claimAt(now + LEASE_MS, { taskId })).toEqual([{ owner, taskId, attempts: 2 }]);
    });

    it('claims due tasks longest due first, at most `limit` at a time', async () => {
      const owner = unique('tenant');
      // Due before 1970: nothing else in the store is. Success makes a task due at time 0 and the
      // other tests claim and defer in 2026, so a scan whose `now` is in this window sees exactly
      // this test's tasks, and the assertions can be exact rather than "ours among others".
      const windowMs = Date.UTC(1950, 0, 1);
      const taskIds = Array.from({ length: 5 }, () => unique('task'));
      for (const taskId of taskIds) await recordSucceeded(owner, taskId);
      // Due one second apart, in an order that is neither the ids' nor the records'.
      const dueOrder = [taskIds[3]!, taskIds[0]!, taskIds[4]!, taskIds[1]!, taskIds[2]!];
      for (const [index, taskId] of dueOrder.entries()) await history.deferCopies(owner, taskId, new Date(windowMs + index * 1000));
      const now = windowMs + 10_000;
      const claimsOf = (ids: string[]) => sortedClaims(ids.map((taskId) => ({ owner, taskId, attempts: 1 })));

      expect(sortedClaims(await claimAt(now, { limit: 2 }))).toEqual(claimsOf(dueOrder.slice(0, 2)));
      expect(sortedClaims(await claimAt(now, { limit: 2 }))).toEqual(claimsOf(dueOrder.slice(2, 4)));
      expect(await claimAt(now, { limit: 2 })).toEqual(claimsOf(dueOrder.slice(4)));
      expect(await claimAt(now, { limit: 2 })).toEqual([]);
    });

    it('makes a deferred task due again at retryAt, not before', async () => {
      const [owner, stranger] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      await recordSucceeded(owner, taskId);
      const now = BASE_MS + 10_000;
      expect(await claimAt(now, { taskId })).toEqual([{ owner, taskId, attempts: 1 }]);
      // The attempt failed: due again in 20 s, before its lease would have run out.
      const retryAt = now + 20_000;
      await history.deferCopies(owner, taskId, new Date(retryAt));
      // Another owner's deferral does not touch this owner's record.
      await history.deferCopies(stranger, taskId, new Date(retryAt + 1_000_000));
      expect(await claimAt(retryAt - 1, { taskId })).toEqual([]);
      expect(await claimAt(retryAt, { taskId })).toEqual([{ owner, taskId, attempts: 2 }]);

      // Deferring a task that has not succeeded does not make it due.
      const queued = unique('task');
      await history.record({ owner, taskId: queued, prompt: 'p', createdAt: new Date(BASE_MS) });
      await history.deferCopies(owner, queued, new Date(BASE_MS));
      expect(await claimAt(now + 1_000_000, { taskId: queued })).toEqual([]);
    });

    it("stores a task's copies for its owner, in video order, and claims it no more", async () => {
      const [owner, stranger] = [unique('tenant'), unique('tenant')];
      const [taskId, other] = [unique('task'), unique('task')];
      await recordSucceeded(owner, taskId);
      await recordSucceeded(owner, other);
      const now = BASE_MS + 10_000;
      expect(await claimAt(now, { taskId })).toHaveLength(1);
      // Handed over out of order: read back in video order.
      const copies = [copyOf(taskId, 2, 'GIF'), copyOf(taskId, 0), copyOf(taskId, 1)];
      expect(await history.completeCopies(owner, taskId, copies)).toBe(true);
      expect(await history.completeCopies(owner, other, [copyOf(other, 0)])).toBe(true);

      const found = await history.getCopies(owner, [taskId, other, taskId, unique('never-recorded')]);
      expect([...found.keys()].sort()).toEqual([taskId, other].sort());
      expect(found.get(taskId)).toEqual([copyOf(taskId, 0), copyOf(taskId, 1), copyOf(taskId, 2, 'GIF')]);
      expect(found.get(other)).toEqual([copyOf(other, 0)]);
      expect((await history.getCopies(stranger, [taskId, other])).size).toBe(0);
      expect((await history.getCopies(owner, [])).size).toBe(0);

      // Copied: neither its lease running out nor a late deferral makes it due again.
      expect(await claimAt(now + LEASE_MS, { taskId })).toEqual([]);
      await history.deferCopies(owner, taskId, new Date(BASE_MS));
      expect(await claimAt(now + 1_000_000, { taskId })).toEqual([]);
      expect(await claimAt(now + 1_000_000, { taskId: other })).toEqual([]);
    });

    it('replaces the copies when a task is completed twice', async () => {
      const owner = unique('tenant');
      const taskId = unique('task');
      await recordSucceeded(owner, taskId);
      expect(await history.completeCopies(owner, taskId, [copyOf(taskId, 0), copyOf(taskId, 1), copyOf(taskId, 2)])).toBe(true);
      const again = [{ ...copyOf(taskId, 0, 'GIF'), key: 'videos/again/0.gif' }];
      expect(await history.completeCopies(owner, taskId, again)).toBe(true);
      expect((await history.getCopies(owner, [taskId])).get(taskId)).toEqual(again);
    });

    it('completes nothing for a task deleted while it was being copied', async () => {
      const [owner, stranger] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      await recordSucceeded(owner, taskId);
      expect(await claimAt(BASE_MS + 10_000, { taskId })).toHaveLength(1);
      expect(await history.delete(owner, taskId)).toBe(true);
      expect(await history.completeCopies(owner, taskId, [copyOf(taskId, 0)])).toBe(false);
      expect((await history.getCopies(owner, [taskId])).size).toBe(0);
      // Nor for an owner that never had it.
      expect(await history.completeCopies(stranger, taskId, [copyOf(taskId, 0)])).toBe(false);
      expect((await history.getCopies(stranger, [taskId])).size).toBe(0);
    });

    it("deletes a task's copies with it, for its owner only", async () => {
      const [owner, stranger] = [unique('tenant'), unique('tenant')];
      const taskId = unique('task');
      await recordSucceeded(owner, taskId);
      expect(await history.completeCopies(owner, taskId, [copyOf(taskId, 0), copyOf(taskId, 1)])).toBe(true);

      expect(await history.delete(stranger, taskId)).toBe(false);
      expect((await history.getCopies(owner, [taskId])).get(taskId)).toHaveLength(2);

      expect(await history.delete(owner, taskId)).toBe(true);
      expect((await history.getCopies(owner, [taskId])).size).toBe(0);
      // Gone, not hidden behind the missing record: recording the task again brings none back.
      await history.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
      expect((await history.getCopies(owner, [taskId])).size).toBe(0);
    });

    it('lists the records of every owner created before a time, oldest first, at most `limit`', async () => {
      const [one, other] = [unique('tenant'), unique('tenant')];
      // Created in 2001: every other record in the store is from 2026 (BASE_MS, or the clock in the
      // killed writer's test), so records before `before` are exactly this test's.
      const startMs = Date.UTC(2001, 0, 1);
      const entries = [
        { owner: one, taskId: unique('expired-b'), createdAt: new Date(startMs + 2000) },
        { owner: other, taskId: unique('expired-c'), createdAt: new Date(startMs) },
        { owner: one, taskId: unique('expired-a'), createdAt: new Date(startMs + 1000) },
        // Tied with the one before: the task id decides.
        { owner: other, taskId: unique('expired-a'), createdAt: new Date(startMs + 1000) },
      ];
      for (const entry of entries) await history.record({ ...entry, prompt: 'p' });
      const before = new Date(startMs + 3000);
      // Created at `before` itself: not before it.
      await history.record({ owner: one, taskId: unique('not-expired'), prompt: 'p', createdAt: before });

      const oldestFirst = [...entries].sort((a, b) => -newestFirst(a, b)).map(({ owner, taskId }) => ({ owner, taskId }));
      expect(await history.listExpired(before, 100)).toEqual(oldestFirst);
      expect(await history.listExpired(before, 2)).toEqual(oldestFirst.slice(0, 2));
      expect(await history.listExpired(new Date(startMs), 100)).toEqual([]);
    });

    it('keeps the first value of a shared secret, for every caller and across reopening', async () => {
      const name = unique('secret');
      expect(await history.sharedSecret(name, () => 'first value')).toBe('first value');
      expect(await history.sharedSecret(name, () => 'second value')).toBe('first value');

      // Ten processes' first calls at once: one value wins and every caller reads it.
      const raced = unique('secret');
      const candidates = Array.from({ length: 10 }, (_, index) => `candidate ${index}`);
      const answers = await Promise.all(candidates.map((candidate) => history.sharedSecret(raced, () => candidate)));
      expect(new Set(answers).size).toBe(1);
      expect(candidates).toContain(answers[0]);

      const again = await store.open();
      try {
        expect(await again.sharedSecret(name, () => 'after reopening')).toBe('first value');
        expect(await again.sharedSecret(raced, () => 'after reopening')).toBe(answers[0]);
      } finally {
        await again.close();
      }
    });

    it('makes the copies of tasks that succeeded before the video-copies migration due when it runs', async () => {
      // A store of its own: it is taken back to the schema before 2026-12-03-video-copies.
      const earlier = await setUp();
      try {
        const owner = unique('tenant');
        const [succeeded, failed, queued] = [unique('succeeded'), unique('failed'), unique('queued')];
        const first = await earlier.open();
        try {
          for (const taskId of [succeeded, failed, queued]) await first.record({ owner, taskId, prompt: 'p', createdAt: new Date(BASE_MS) });
          await first.noteStatus(succeeded, 'SUCCEEDED', new Date(BASE_MS + 1000));
          await first.noteStatus(failed, 'FAILED', new Date(BASE_MS + 1000));
        } finally {
          await first.close();
        }
        // Undoes the migration (everything it adds, and its bookkeeping row), as if the store had
        // only ever run the versions before it. Its copy_state column goes too, so if the migration
        // did not run again the claims below would fail on a missing column.
        await earlier.runSql([
          // 2026-12-04-task-creators first: the schema is taken back one migration at a time.
          'drop index task_history_by_creator_newest',
          'alter table task_history drop column created_by',
          "delete from kysely_migration where name = '2026-12-04-task-creators'",
          'drop table video_copies',
          'drop table gateway_secrets',
          'drop index task_history_copies_due',
          'drop index task_history_oldest',
          'alter table task_history drop column copy_state',
          'alter table task_history drop column copy_attempts',
          'alter table task_history drop column copy_due_at',
          "delete from kysely_migration where name = '2026-12-03-video-copies'",
        ]);

        const upgraded = await earlier.open();
        try {
          const now = BASE_MS + 10_000;
          const claim = (taskId: string) => upgraded.claimCopies({ now: new Date(now), leaseUntil: new Date(now + LEASE_MS), limit: 10, taskId });
          expect(await claim(succeeded)).toEqual([{ owner, taskId: succeeded, attempts: 1 }]);
          expect(await claim(failed)).toEqual([]);
          expect(await claim(queued)).toEqual([]);
          expect((await upgraded.getMany(owner, [succeeded])).get(succeeded)?.status).toBe('SUCCEEDED');
        } finally {
          await upgraded.close();
        }
      } finally {
        await earlier.dispose();
      }
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
      runSql: async (statements) => {
        const database = new Database(join(dataDir, SQLITE_FILE_NAME));
        try {
          database.transaction(() => statements.forEach((statement) => database.exec(statement)))();
        } finally {
          database.close();
        }
      },
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
          { name: '2026-12-03-video-copies' },
          { name: '2026-12-04-task-creators' },
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

    it('finds due copies and expired records from their own indexes, not by reading the whole table', () => {
      const database = new Database(join(dataDirOf(), SQLITE_FILE_NAME), { readonly: true });
      try {
        const planOf = (statement: string, ...parameters: unknown[]) =>
          (database.prepare(`explain query plan ${statement}`).all(...parameters) as { detail: string }[]).map((row) => row.detail).join('\n');
        // The statements claimCopies (a scan, with no task id) and listExpired send.
        const claim =
          'update "task_history" set "copy_due_at" = ?, "copy_attempts" = "copy_attempts" + ? where ("owner", "task_id") in ' +
          `(select "owner", "task_id" from "task_history" where copy_state = 'PENDING' and "copy_due_at" <= ? order by "copy_due_at" asc limit ?) ` +
          `and copy_state = 'PENDING' and "copy_due_at" <= ? returning "owner", "task_id", "copy_attempts"`;
        expect(planOf(claim, 1, 1, 1, 10, 1)).toContain('task_history_copies_due');
        const expired = 'select "owner", "task_id" from "task_history" where "created_at" < ? order by "created_at" asc, "task_id" asc limit ?';
        expect(planOf(expired, 1, 10)).toContain('task_history_oldest');
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
      runSql: async (statements) => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await client.query('begin');
          for (const statement of statements) await client.query(statement);
          await client.query('commit');
        } finally {
          await client.end();
        }
      },
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

    it('leaves no copy rows behind when a task is deleted while its copies are being recorded', async () => {
      // The interleaving that matters, made certain: a third connection holds the task's row, so
      // completeCopies waits for it first and delete() queues behind completeCopies. When the row
      // is let go, completeCopies commits its copy rows and then delete() removes the record; the
      // copy rows must go with it (a delete that cleared them before waiting for the row would
      // find none yet and leave them behind, belonging to no record).
      const database = await createThrowawayDatabase();
      const history = await openTaskHistory({ dataDir: '/nonexistent-unused', databaseUrl: database.url, logger: silent });
      const holder = new pg.Client({ connectionString: database.url });
      const observer = new pg.Client({ connectionString: database.url });
      try {
        await Promise.all([holder.connect(), observer.connect()]);
        await history.record({ owner: 'o', taskId: 't', prompt: 'p', createdAt: new Date(BASE_MS) });
        await history.noteStatus('t', 'SUCCEEDED', new Date(BASE_MS + 1));
        // Calls of the history waiting for a lock (the observer's own reads never wait).
        const waiting = async () => {
          const { rows } = await observer.query<{ n: string }>(
            "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          );
          return Number(rows[0]?.n);
        };

        await holder.query('begin');
        await holder.query("select 1 from task_history where owner = 'o' and task_id = 't' for update");
        const completing = history.completeCopies('o', 't', [copyOf('t', 0), copyOf('t', 1)]);
        await waitUntil('completeCopies waits for the row', async () => (await waiting()) === 1);
        const deleting = history.delete('o', 't');
        await waitUntil('delete waits too', async () => (await waiting()) === 2);
        await holder.query('commit');

        expect(await completing).toBe(true);
        expect(await deleting).toBe(true);
        expect((await history.getMany('o', ['t'])).size).toBe(0);
        expect((await history.getCopies('o', ['t'])).size).toBe(0);
      } finally {
        await Promise.all([holder.end(), observer.end()]);
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
