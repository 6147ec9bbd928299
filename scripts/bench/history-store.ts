// The task history store on its own, below GraphQL: how long `list(first: 20)` takes over one
// tenant's 10,000 tasks (first page, a page deep in the history, a status filter), and what a
// `record` and a `noteStatus` cost, on SQLite (a temp DATA_DIR) and on the PostgreSQL at
// BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres; a throwaway database is
// created and dropped). Run: npx tsx scripts/bench/history-store.ts. Not part of npm test.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openTaskHistory } from '../../src/history/open-task-history.js';
import type { HistoryQuery, TaskHistory } from '../../src/history/task-history.js';
import { createLogger } from '../../src/logger.js';

const TASKS = Number(process.env.BENCH_HISTORY_TASKS ?? 10_000);
/** Other tenants' tasks in the same table, so the owner filter has something to filter out. */
const OTHER_TASKS = Number(process.env.BENCH_HISTORY_OTHER_TASKS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_HISTORY_ROUNDS ?? 1000);
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const OWNER = 'tenant-bench';
const STATUSES = ['QUEUED', 'PROCESSING', 'SUCCEEDED', 'FAILED'] as const;
const logger = createLogger({ logLevel: 'silent' });

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? NaN;
}

async function time(label: string, rounds: number, call: (round: number) => Promise<unknown>): Promise<void> {
  for (let round = 0; round < Math.min(50, rounds); round += 1) await call(round); // warm up
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const start = performance.now();
    await call(round);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((sum, sample) => sum + sample, 0) / samples.length;
  console.log(`  ${label.padEnd(44)} p50 ${percentile(samples, 0.5).toFixed(3)} ms  p99 ${percentile(samples, 0.99).toFixed(3)} ms  mean ${mean.toFixed(3)} ms  (${rounds} calls)`);
}

async function fill(history: TaskHistory): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  // Written through `record`, as the gateway writes them; both tenants' tasks interleaved in time.
  const writes: Promise<void>[] = [];
  for (let index = 0; index < TASKS + OTHER_TASKS; index += 1) {
    const owner = index % 2 === 0 && index / 2 < TASKS ? OWNER : `tenant-${index % 50}`;
    writes.push(history.record({ owner, taskId: randomUUID(), prompt: `@1 a prompt of ordinary length, number ${index}`, createdAt: new Date(start + index * 1000) }));
    // Bounded concurrency: PostgreSQL gets its pool's worth at once, SQLite serializes anyway.
    if (writes.length === 10) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const page = await history.list(OWNER, { first: 100 });
  for (const [index, record] of page.records.entries()) await history.noteStatus(record.taskId, STATUSES[index % 4]!, new Date());
}

async function measure(name: string, history: TaskHistory): Promise<void> {
  console.log(`\n${name}`);
  let start = performance.now();
  await fill(history);
  console.log(`  filled ${TASKS} + ${OTHER_TASKS} tasks through record() in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  const all = await history.list(OWNER, { first: 100 });
  if (all.totalCount !== TASKS) throw new Error(`expected ${TASKS} tasks for ${OWNER}, found ${all.totalCount}`);
  // A cursor halfway down the history.
  let deep: HistoryQuery['after'];
  for (let skipped = 0; skipped < TASKS / 2; skipped += 100) {
    const page = await history.list(OWNER, { first: 100, after: deep });
    const last = page.records.at(-1)!;
    deep = { createdAtMs: last.createdAt.getTime(), taskId: last.taskId };
  }

  await time('list(first: 20), first page', ROUNDS, () => history.list(OWNER, { first: 20 }));
  await time('list(first: 20), after 5,000 tasks', ROUNDS, () => history.list(OWNER, { first: 20, after: deep }));
  await time('list(first: 20, status: [SUCCEEDED, FAILED])', ROUNDS, () => history.list(OWNER, { first: 20, statuses: ['SUCCEEDED', 'FAILED'] }));
  await time('list(first: 100), first page', ROUNDS, () => history.list(OWNER, { first: 100 }));
  await time('getMany(20 ids)', ROUNDS, () => history.getMany(OWNER, all.records.slice(0, 20).map((record) => record.taskId)));
  await time('noteStatus, unchanged (no write)', ROUNDS, (round) => history.noteStatus(all.records[round % 20]!.taskId, 'QUEUED', new Date(0)));
  start = Date.now();
  await time('record (one committed insert)', 300, (round) => history.record({ owner: 'tenant-timing', taskId: `timing-${round}`, prompt: 'p', createdAt: new Date(start + round) }));
}

const dataDir = mkdtempSync(join(tmpdir(), 'vgw-bench-history-'));
try {
  const sqlite = await openTaskHistory({ dataDir, databaseUrl: undefined, logger });
  await measure(`SQLite (${join(dataDir, 'gateway.sqlite')}, WAL, synchronous=FULL)`, sqlite);
  await sqlite.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
try {
  await admin.connect();
} catch {
  console.log(`\nPostgreSQL SKIPPED: nothing answers at ${new URL(ADMIN_URL).host} (set BENCH_POSTGRES_URL)`);
  process.exit(0);
}
const database = `t_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`create database ${database}`);
try {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const postgres = await openTaskHistory({ dataDir, databaseUrl: url.toString(), logger });
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]?.server_version;
  await measure(`PostgreSQL ${version} (${url.host}, pool of 10)`, postgres);
  await postgres.close();
} finally {
  await admin.query(`drop database if exists ${database} with (force)`);
  await admin.end();
}
