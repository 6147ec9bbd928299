// History scenarios of `npm run bench` (BENCH_ONLY=history): `myTasks(first: 20)` through the
// gateway over one tenant's history of 10,000 tasks, and the gateway serving a stored video copy
// against `send` alone serving the same file (stored-video-scenarios.ts).
//
// The history is filled below GraphQL, with the gateway's own store code (openTaskHistory, then
// record() and noteStatus() as the gateway calls them), before the gateway starts on that DATA_DIR:
// 10,000 creates through GraphQL would take minutes and meet the create rate limit. Then 20 real
// tasks are created through the gateway, the newest of the history, so the first page's nodes are
// tasks the simulator knows and the gateway has cached; the other nodes are made-up ids no upstream
// knows, so the deeper and filtered pages are measured without nodes (the history's own cost: a
// page that selects no node reads nothing upstream). Gateway and simulator are child processes with
// client keys on, as in the other scenarios; everything is on loopback and bounded.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { historyOwnerOf } from '../../src/history/caller-history.js';
import { openTaskHistory } from '../../src/history/open-task-history.js';
import { createLogger } from '../../src/logger.js';
import type { TaskStatusValue } from '../../src/upstream/task-snapshot.js';
import { measuredLoad, type LoadRow, type LoadSettings } from './measured-load.js';
import { AUTHORIZATION, postGraphQL, startGatewayChild, startSimulatorChild, TENANT } from './pair.js';
import { BENCH_GATEWAY_COPY_ENV, storedVideoServing } from './stored-video-scenarios.js';

const FILLED_TASKS = 10_000;
const REAL_TASKS = 20;
const PAGE = 20;
/** The deep page starts after this many tasks: page 251 of 20. */
const DEEP_OFFSET = 5_000;
/** Real tasks finish this fast, so they are terminal (cached, copied) before the measured runs. */
const SIMULATED_TASK_MS = 1_000;
const SETTLE_TIMEOUT_MS = 60_000;
/** A tmpfs on Linux: where the history is filled before it is copied to disk. */
const RAM_FOLDER = '/dev/shm';

/**
 * The filled tasks' statuses: terminal only. The gateway follows every unfinished task of its
 * history from start-up (polling the upstream for it) and copies the videos of every SUCCEEDED one,
 * and neither upstream knows these made-up ids: unfinished or uncopied ones would keep the gateway
 * busy beside the measured runs. Three in four SUCCEEDED (their copies marked done), one in four FAILED.
 */
function filledStatusOf(index: number): TaskStatusValue {
  return index % 4 === 2 ? 'FAILED' : 'SUCCEEDED';
}
const FILTERED_STATUS: TaskStatusValue = 'FAILED';
const FILTERED_COUNT = Array.from({ length: FILLED_TASKS }, (_, i) => filledStatusOf(i)).filter((s) => s === FILTERED_STATUS).length;

const PAGE_QUERY =
  'query Page($after: String, $status: [TaskStatus!]) { myTasks(first: 20, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } }';
const NODES_QUERY = 'query PageWithNodes { myTasks(first: 20) { totalCount edges { cursor node { id status prompt createdAt } } } }';
const CREATE = 'mutation Create($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { message } } }';
const SETTLED_QUERY = 'query Settled { myTasks(first: 20) { edges { node { status videos { stored } } } } }';
const CURSOR_QUERY = 'query Skip($after: String) { myTasks(first: 100, after: $after) { pageInfo { endCursor } } }';

interface Answer<T> {
  data?: T;
  errors?: unknown[];
}

/** A myTasks answer; each query selects some of these fields. */
type PageAnswer = Answer<{
  myTasks: {
    totalCount?: number;
    pageInfo?: { hasNextPage?: boolean; endCursor: string | null };
    edges: { cursor?: string; node?: { status: string; prompt?: string | null; videos?: { stored: boolean }[] } | null }[];
  };
}>;

/**
 * Writes the filled tasks with the gateway's own store code into a folder in RAM when there is one,
 * then copies the closed store into `dataDir` (on disk, as the gateway runs). Each write is a commit
 * with an fsync (synchronous=FULL): 27,500 of them take 6 s on a quiet disk and 40 s on a busy one,
 * and an fsync in RAM costs nothing.
 */
async function fillHistory(dataDir: string): Promise<number> {
  const started = performance.now();
  const fillDir = mkdtempSync(join(existsSync(RAM_FOLDER) ? RAM_FOLDER : tmpdir(), 'gateway-bench-fill-'));
  try {
    await writeFilledTasks(fillDir);
    cpSync(fillDir, dataDir, { recursive: true });
  } finally {
    rmSync(fillDir, { recursive: true, force: true });
  }
  return Math.round(performance.now() - started);
}

async function writeFilledTasks(fillDir: string): Promise<void> {
  const owner = historyOwnerOf(TENANT);
  const history = await openTaskHistory({ dataDir: fillDir, databaseUrl: undefined, logger: createLogger({ logLevel: 'silent' }) });
  try {
    // One a second, ending a minute ago: all older than the real tasks created afterwards.
    const newestMs = Date.now() - 60_000;
    for (let index = 0; index < FILLED_TASKS; index += 1) {
      const taskId = `bench-history-${String(index).padStart(5, '0')}`;
      const createdAt = new Date(newestMs - (FILLED_TASKS - 1 - index) * 1000);
      await history.record({ owner, taskId, prompt: `@1 a prompt of ordinary length, number ${index}`, createdAt });
      const status = filledStatusOf(index);
      await history.noteStatus(taskId, status, new Date(createdAt.getTime() + 500));
      // noteStatus made it due for copying: record it copied (no videos), so the copier leaves it alone.
      if (status === 'SUCCEEDED') await history.completeCopies(owner, taskId, []);
    }
  } finally {
    // Closing the last connection checkpoints the WAL into the file: the copy is the whole store.
    await history.close();
  }
}

async function graphql<T = PageAnswer>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ text: string; json: T }> {
  const { statusCode, text } = await postGraphQL(url, query, variables);
  if (statusCode !== 200) throw new Error(`history bench: HTTP ${statusCode} for ${query.slice(0, 40)}…: ${text.slice(0, 300)}`);
  return { text, json: JSON.parse(text) as T };
}

async function createRealTasks(url: string): Promise<void> {
  // One after another: the per-tenant create concurrency is 4 and the burst 30 by default.
  for (let index = 0; index < REAL_TASKS; index += 1) {
    const input = { prompt: `@1 a real benchmark task, number ${index}`, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
    const { json, text } = await graphql<Answer<{ createReferenceVideo: { taskId: string | null } }>>(url, CREATE, { input });
    if (!json.data?.createReferenceVideo.taskId) throw new Error(`history bench: a create failed: ${text.slice(0, 300)}`);
  }
}

/** Reads the first page (which offers succeeded tasks for copying) until all real tasks are SUCCEEDED and stored. */
async function waitUntilSettled(url: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { json } = await graphql(url, SETTLED_QUERY);
    const nodes = json.data?.myTasks.edges.map((edge) => edge.node) ?? [];
    if (nodes.length === REAL_TASKS && nodes.every((node) => node?.status === 'SUCCEEDED' && node.videos?.length && node.videos.every((v) => v.stored))) {
      return Math.round(performance.now() - started);
    }
    if (performance.now() - started > SETTLE_TIMEOUT_MS) throw new Error(`history bench: the real tasks did not all succeed and get copied within ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(250);
  }
}

/** The endCursor after DEEP_OFFSET tasks, paging as a client would. */
async function deepCursor(url: string): Promise<string> {
  let after: string | null = null;
  for (let skipped = 0; skipped < DEEP_OFFSET; skipped += 100) {
    const answer: { text: string; json: PageAnswer } = await graphql(url, CURSOR_QUERY, { after });
    after = answer.json.data?.myTasks.pageInfo?.endCursor ?? null;
    if (after === null) throw new Error(`history bench: paging stopped after ${skipped} tasks: ${answer.text.slice(0, 300)}`);
  }
  return after!;
}

interface PageScenario {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** Throws when one answer is not what the scenario means to measure. */
  check(answer: PageAnswer): void;
}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`history bench: ${what}`);
}

function pageScenarios(deepAfter: string): PageScenario[] {
  const total = FILLED_TASKS + REAL_TASKS;
  const cursorsOnly = (answer: PageAnswer, totalCount: number) => {
    expect(answer.errors === undefined, `errors in the answer: ${JSON.stringify(answer.errors)}`);
    expect(answer.data?.myTasks.totalCount === totalCount, `totalCount ${answer.data?.myTasks.totalCount}, expected ${totalCount}`);
    expect(answer.data?.myTasks.edges.length === PAGE && answer.data.myTasks.pageInfo?.hasNextPage === true, 'a full page with more after it');
  };
  return [
    { name: 'myTasks(first: 20), no nodes', query: PAGE_QUERY, variables: {}, check: (answer) => cursorsOnly(answer, total) },
    {
      name: 'myTasks(first: 20), 20 real nodes (cached)',
      query: NODES_QUERY,
      variables: {},
      check: (answer) => {
        expect(answer.errors === undefined, `errors in the answer: ${JSON.stringify(answer.errors)}`);
        expect(answer.data?.myTasks.totalCount === total, 'totalCount');
        const nodes = answer.data?.myTasks.edges.map((edge) => edge.node) ?? [];
        expect(nodes.length === PAGE && nodes.every((node) => node?.status === 'SUCCEEDED' && node.prompt?.startsWith('@1 a real')), 'twenty real, succeeded nodes');
      },
    },
    { name: `myTasks(first: 20, after: ${DEEP_OFFSET} tasks), no nodes`, query: PAGE_QUERY, variables: { after: deepAfter }, check: (answer) => cursorsOnly(answer, total) },
    { name: `myTasks(first: 20, status: [${FILTERED_STATUS}]), no nodes`, query: PAGE_QUERY, variables: { status: [FILTERED_STATUS] }, check: (answer) => cursorsOnly(answer, FILTERED_COUNT) },
  ];
}

/** Each scenario: one answer checked by shape, then load in which every answer must be that same one. */
async function measurePages(url: string, scenarios: PageScenario[], settings: LoadSettings): Promise<LoadRow[]> {
  const rows: LoadRow[] = [];
  for (const scenario of scenarios) {
    const first = await graphql(url, scenario.query, scenario.variables);
    scenario.check(first.json);
    // Nothing changes the history or these tasks during the runs: every answer must be byte for byte the same.
    const second = await graphql(url, scenario.query, scenario.variables);
    expect(second.text === first.text, `${scenario.name}: two answers differ`);
    const options: autocannon.Options = {
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTHORIZATION },
      body: JSON.stringify({ query: scenario.query, variables: scenario.variables }),
    };
    rows.push(await measuredLoad(scenario.name, options, { status: 200, body: first.text }, settings));
  }
  return rows;
}

async function myTasksThroughput(settings: LoadSettings) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-bench-history-'));
  try {
    const fillMs = await fillHistory(dataDir);
    console.log(`\nfilled ${FILLED_TASKS} tasks for tenant "${TENANT}" through record() + noteStatus() + completeCopies() in ${(fillMs / 1000).toFixed(1)} s`);
    const simulator = await startSimulatorChild(SIMULATED_TASK_MS);
    const gateway = await startGatewayChild(simulator.url, { DATA_DIR: dataDir, ...BENCH_GATEWAY_COPY_ENV });
    try {
      await createRealTasks(gateway.url);
      const settleMs = await waitUntilSettled(gateway.url);
      console.log(`${REAL_TASKS} real tasks created through the gateway; succeeded and copied in ${(settleMs / 1000).toFixed(1)} s`);
      const rows = await measurePages(gateway.url, pageScenarios(await deepCursor(gateway.url)), settings);
      return { filledTasks: FILLED_TASKS, realTasks: REAL_TASKS, fillMs, rows, gatewayPeakRssMiB: Math.round(gateway.peakRssMiB()) };
    } finally {
      await Promise.all([gateway.stop(), simulator.stop()]);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function historyScenarios(settings: LoadSettings) {
  console.log(`\nhistory scenarios: autocannon, ${settings.connections} connections, ${settings.durationSeconds} s per run after a 2 s warm-up`);
  const myTasks = await myTasksThroughput(settings);
  console.log(`\nmyTasks through the gateway, one tenant's history of ${FILLED_TASKS + REAL_TASKS} tasks (SQLite under DATA_DIR, client keys on)`);
  console.table(myTasks.rows);
  const videos = await storedVideoServing(settings);
  console.log(`\nserving a stored video copy (${videos.fileBytes} bytes): the gateway's signed link vs \`send\` alone on the same file`);
  console.table(videos.rows);
  console.table(videos.ratios);
  const broken = [...myTasks.rows, ...videos.rows].filter((row) => row.check !== 'ok').map((row) => row.name);
  console.log(broken.length === 0 ? 'every answer of every run was the expected one' : `BROKEN runs (errors, non-2xx or unexpected answers): ${broken.join('; ')}`);
  return { myTasks, storedVideos: videos };
}
