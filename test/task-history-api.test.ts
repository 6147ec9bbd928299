// The task history through the API, over real HTTP: myTasks (order, pages, cursors, the status
// filter, argument errors), node(id:), Task.createdAt and Task.prompt, deleteTask, tenants, one
// shared history on an open gateway, the record written before the create answers, and a history
// that outlives a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.js';
import { openTaskHistory, SQLITE_FILE_NAME } from '../src/history/open-task-history.js';
import { SHARED_HISTORY } from '../src/history/task-history.js';
import { startGateway } from '../src/server.js';
import { startSimulator } from '../src/simulator/server.js';
import { gatewayConfigFor, startStack, UPSTREAM_TEST_KEY, useStack, type Stack } from './support/stack.js';
import { bearer, callGraphQL, type CallTarget } from './support/graphql-call.js';

const SHOP_KEY = 'k-shop-0123456789abcdef';
const STUDIO_KEY = 'k-studio-0123456789abcdef';
const KEYED_ENV = {
  GATEWAY_API_KEYS: `shop:${SHOP_KEY},studio:${STUDIO_KEY}`,
  GATEWAY_ID_SECRET: 'test-id-secret-0123456789abcdef0123456789',
};

/** A running gateway to talk to: a whole stack, or a gateway started on its own. */
type Target = CallTarget;
const call = callGraphQL;

const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { code } } }';

function videoInput(prompt: string) {
  return { prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
}

async function create(stack: Target, prompt: string, headers: Record<string, string> = {}): Promise<string> {
  const answer = await call(stack, CREATE, { input: videoInput(prompt) }, headers);
  expect(answer.errors).toBeUndefined();
  expect(answer.data.createReferenceVideo.userErrors).toEqual([]);
  return answer.data.createReferenceVideo.taskId as string;
}

const MY_TASKS = `query($first: Int, $after: String, $status: [TaskStatus!]) {
  myTasks(first: $first, after: $after, status: $status) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status prompt createdAt } }
  }
}`;

/** The same, without nodes: reads nothing upstream (so it notes no status either). */
const MY_TASK_IDS = `query($first: Int, $after: String, $status: [TaskStatus!]) {
  myTasks(first: $first, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } }
}`;

const NODE = 'query($id: ID!) { node(id: $id) { __typename id ... on Task { status prompt createdAt } } }';
const DELETE = 'mutation($id: ID!) { deleteTask(id: $id) { deletedTaskId userErrors { field code message } } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every id of the history, newest first, page by page. */
async function allPages(stack: Stack, first: number, headers: Record<string, string> = {}) {
  const pages: { ids: string[]; hasNextPage: boolean; endCursor: string | null; totalCount: number }[] = [];
  let after: string | null = null;
  for (;;) {
    const answer = await call(stack, MY_TASKS, { first, after }, headers);
    expect(answer.errors).toBeUndefined();
    const connection = answer.data.myTasks;
    pages.push({
      ids: connection.edges.map((edge: { node: { id: string } }) => edge.node.id),
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor,
      totalCount: connection.totalCount,
    });
    if (!connection.pageInfo.hasNextPage) return pages;
    after = connection.pageInfo.endCursor;
    if (pages.length > 50) throw new Error('myTasks never ended');
  }
}

describe('an open gateway: one shared history', () => {
  const stack = useStack();

  it('lists the tasks created, newest first, with createdAt and prompt', async () => {
    const before = Date.now();
    const ids: string[] = [];
    for (const prompt of ['@1 first', '@1 second', '@1 third']) {
      ids.push(await create(stack, prompt));
      // Distinct acceptance times, so "newest first" has one right answer.
      await sleep(3);
    }
    const after = Date.now();
    const answer = await call(stack, MY_TASKS, { first: 3 });
    expect(answer.errors).toBeUndefined();
    const edges = answer.data.myTasks.edges as { cursor: string; node: { id: string; prompt: string; createdAt: string } }[];
    expect(edges.map((edge) => edge.node.id)).toEqual([...ids].reverse());
    expect(edges.map((edge) => edge.node.prompt)).toEqual(['@1 third', '@1 second', '@1 first']);
    for (const edge of edges) {
      const createdAt = Date.parse(edge.node.createdAt);
      expect(createdAt).toBeGreaterThanOrEqual(before);
      expect(createdAt).toBeLessThanOrEqual(after);
      expect(edge.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(answer.data.myTasks.totalCount).toBeGreaterThanOrEqual(3);
  });

  it('is one history for everyone: a task created in one request is listed to the next', async () => {
    const { data: start } = await call(stack, MY_TASK_IDS, { first: 1 });
    const id = await create(stack, '@1 from another caller');
    const { data } = await call(stack, MY_TASKS, { first: 1 });
    expect(data.myTasks.totalCount).toBe(start.myTasks.totalCount + 1);
    expect(data.myTasks.edges[0].node).toMatchObject({ id, prompt: '@1 from another caller' });
  });

  it('holds the record before the create answers: the payload\'s task and a read right after both see it', async () => {
    const answer = await call(stack, 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId task { id prompt createdAt } } }', {
      input: videoInput('@1 recorded first'),
    });
    expect(answer.errors).toBeUndefined();
    const { taskId, task } = answer.data.createReferenceVideo;
    expect(task).toMatchObject({ id: taskId, prompt: '@1 recorded first' });
    expect(task.createdAt).not.toBeNull();
    const node = await call(stack, NODE, { id: taskId });
    expect(node.data.node).toMatchObject({ __typename: 'Task', id: taskId, prompt: '@1 recorded first' });
  });

  it('node(id:) answers the Task, and null for an id nobody created', async () => {
    const id = await create(stack, '@1 as a node');
    const answer = await call(stack, NODE, { id });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.node).toMatchObject({ __typename: 'Task', id, prompt: '@1 as a node', status: expect.any(String) });
    expect(Date.parse(answer.data.node.createdAt)).not.toBeNaN();

    const unknown = await call(stack, NODE, { id: 'no-such-task' });
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data.node).toBeNull();
  });

  it('reads createdAt and prompt as null for a task this gateway did not create', async () => {
    // demo-succeeded always exists at the simulator but was never created through this gateway.
    const answer = await call(stack, 'query { task(id: "demo-succeeded") { id status prompt createdAt } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data.task).toEqual({ id: 'demo-succeeded', status: 'SUCCEEDED', prompt: null, createdAt: null });
  });

  it('deleteTask removes the task from myTasks; a second delete is a NOT_FOUND userError', async () => {
    const id = await create(stack, '@1 to delete');
    const before = (await call(stack, MY_TASK_IDS, { first: 1 })).data.myTasks.totalCount as number;

    const deleted = await call(stack, DELETE, { id });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteTask).toEqual({ deletedTaskId: id, userErrors: [] });

    const { data } = await call(stack, MY_TASKS, { first: 100 });
    expect(data.myTasks.totalCount).toBe(before - 1);
    expect(data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id)).not.toContain(id);
    // The job itself is still at the video service; only the history forgot it.
    const read = await call(stack, 'query($id: ID!) { task(id: $id) { id prompt createdAt } }', { id });
    expect(read.data.task).toEqual({ id, prompt: null, createdAt: null });

    const again = await call(stack, DELETE, { id });
    expect(again.errors).toBeUndefined();
    expect(again.data.deleteTask.deletedTaskId).toBeNull();
    expect(again.data.deleteTask.userErrors).toEqual([{ field: ['id'], code: 'NOT_FOUND', message: expect.any(String) }]);

    const never = await call(stack, DELETE, { id: 'never-created' });
    expect(never.data.deleteTask.userErrors[0].code).toBe('NOT_FOUND');
  });

  it('refuses first outside 1..100 with BAD_USER_INPUT naming first', async () => {
    for (const first of [0, -1, 101]) {
      const answer = await call(stack, MY_TASK_IDS, { first });
      expect(answer.data).toBeNull();
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' });
      expect(answer.errors![0]!.message).toContain('first');
    }
    const inline = await call(stack, '{ myTasks(first: 0) { totalCount } }');
    expect(inline.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' });
    for (const first of [1, 100]) {
      const answer = await call(stack, MY_TASK_IDS, { first });
      expect(answer.errors).toBeUndefined();
    }
  });

  it('refuses a cursor it did not hand out with BAD_USER_INPUT naming after', async () => {
    const v1 = (text: string) => Buffer.from(text).toString('base64url');
    const garbage = [
      'garbage!!',
      'not-a-cursor',
      '',
      'x'.repeat(600),
      v1('v2:1700000000000:some-task'),
      v1('v1:soon:some-task'),
      v1('v1:1700000000000:'),
      v1('v1:1700000000000:with space'),
    ];
    for (const after of garbage) {
      const answer = await call(stack, MY_TASK_IDS, { first: 5, after });
      expect(answer.data, after).toBeNull();
      expect(answer.errors![0]!.extensions, after).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    }
  });

  it('lists a task\'s last-known status, and filters on it', async () => {
    const [ok, failing] = [await create(stack, '@1 will succeed'), await create(stack, '@1 will fail [sim:fail]')];
    const unread = await create(stack, '@1 nobody reads this one');
    // Nobody has read the tasks yet: the history knows them as QUEUED.
    const queued = await call(stack, MY_TASK_IDS, { first: 100, status: ['QUEUED'] });
    expect(queued.data.myTasks.totalCount).toBeGreaterThanOrEqual(3);

    // Read the two until they end: each read notes the status it saw.
    await vi.waitFor(
      async () => {
        const { data } = await call(stack, 'query($ids: [ID!]!) { tasks(ids: $ids) { isTerminal } }', { ids: [ok, failing] });
        expect(data.tasks.every((task: { isTerminal: boolean }) => task.isTerminal)).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
    const ids = async (status: string[]) => {
      const { data } = await call(stack, MY_TASKS, { first: 100, status });
      return {
        ids: data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id) as string[],
        totalCount: data.myTasks.totalCount as number,
      };
    };
    // The notes are written beside the reads, not in their way: they land shortly after.
    await vi.waitFor(
      async () => {
        expect((await ids(['SUCCEEDED'])).ids).toContain(ok);
        expect((await ids(['FAILED'])).ids).toContain(failing);
      },
      { timeout: 5_000, interval: 20 },
    );
    const succeeded = await ids(['SUCCEEDED']);
    expect(succeeded.ids).not.toContain(failing);
    expect(succeeded.totalCount).toBe(succeeded.ids.length);
    const ended = await ids(['SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    expect(ended.ids).toEqual(expect.arrayContaining([ok, failing]));
    expect(ended.totalCount).toBe(ended.ids.length);

    // The one nobody read is still QUEUED in the history, although the simulator has finished it:
    // the filter is on what the gateway last saw. (The listing below reads no node, so notes nothing.)
    // Cursors are opaque to clients; this test knows their v1 form (v1:<createdAt ms>:<task id>).
    const stillQueued = await call(stack, MY_TASK_IDS, { first: 100, status: ['QUEUED', 'PROCESSING'] });
    const queuedIds = stillQueued.data.myTasks.edges.map((edge: { cursor: string }) =>
      Buffer.from(edge.cursor, 'base64url').toString('utf8').split(':').slice(2).join(':'),
    );
    expect(queuedIds).toContain(unread);
    expect(queuedIds).not.toContain(ok);
    expect(queuedIds).not.toContain(failing);
    // The whole history, unfiltered, still holds all three.
    const all = await call(stack, MY_TASKS, { first: 100, status: [] });
    const allIds = all.data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id);
    expect(allIds).toEqual(expect.arrayContaining([ok, failing, unread]));
  });

  it('keeps an edge whose task read failed: null node, an error at its path, the others intact', async () => {
    const created = [await create(stack, '@1 page a'), await create(stack, '@1 page b'), await create(stack, '@1 page c')];
    // One upstream read answers 500 (not retried): exactly one node of the page fails.
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 500, times: 1 });
    const answer = await call(stack, MY_TASKS, { first: 3 });
    expect(answer.data.myTasks.edges).toHaveLength(3);
    const failed = (answer.data.myTasks.edges as { node: unknown }[]).flatMap((edge, index) => (edge.node === null ? [index] : []));
    expect(failed).toHaveLength(1);
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors![0]!.path).toEqual(['myTasks', 'edges', failed[0], 'node']);
    expect(answer.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    // Its cursor is still there, and so is every other node.
    expect(answer.data.myTasks.edges.every((edge: { cursor: string }) => edge.cursor.length > 0)).toBe(true);
    const present = answer.data.myTasks.edges.filter((edge: { node: unknown }) => edge.node !== null).map((edge: { node: { id: string } }) => edge.node.id);
    expect(present).toHaveLength(2);
    expect(created).toEqual(expect.arrayContaining(present));
  });
});

describe('pages', () => {
  const stack = useStack();
  const created: string[] = [];

  beforeAll(async () => {
    // Five at a time, as busy clients send them. (Ties on createdAt are the store's tests' business:
    // test/task-history.test.ts pages through runs of them.)
    for (let batch = 0; batch < 5; batch++) {
      created.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => create(stack, `@1 task ${batch * 5 + i}`)))));
    }
  });

  it('walks 25 tasks with first/after: no duplicates, no gaps, hasNextPage and totalCount right', async () => {
    const pages = await allPages(stack, 10);
    expect(pages.map((page) => page.ids.length)).toEqual([10, 10, 5]);
    expect(pages.map((page) => page.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((page) => page.totalCount)).toEqual([25, 25, 25]);
    for (const page of pages) expect(page.endCursor).not.toBeNull();
    const ids = pages.flatMap((page) => page.ids);
    expect(new Set(ids).size).toBe(25);
    expect([...ids].sort()).toEqual([...created].sort());

    // The same order as one page of all of them.
    const whole = await call(stack, MY_TASKS, { first: 100 });
    expect(whole.data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(ids);
    const times = whole.data.myTasks.edges.map((edge: { node: { createdAt: string } }) => Date.parse(edge.node.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // An edge's cursor continues right after it, like endCursor.
    const fromEdge = await call(stack, MY_TASKS, { first: 3, after: whole.data.myTasks.edges[4].cursor });
    expect(fromEdge.data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(ids.slice(5, 8));
  });

  it('ends with an empty page after the last cursor', async () => {
    const last = await call(stack, MY_TASKS, { first: 25 });
    expect(last.data.myTasks.pageInfo.hasNextPage).toBe(false);
    const beyond = await call(stack, MY_TASKS, { first: 10, after: last.data.myTasks.pageInfo.endCursor });
    expect(beyond.data.myTasks).toEqual({ totalCount: 25, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it('costs one upstream read per node, shared with task(id:) in the same operation, and none without nodes', async () => {
    stack.simulator.resetStats();
    const answer = await call(stack, `query($id: ID!) { myTasks(first: 20) { edges { node { id status } } } again: myTasks(first: 5) { edges { node { status } } } task(id: $id) { status } }`, {
      id: created.at(-1),
    });
    expect(answer.errors).toBeUndefined();
    // The result cache is off in these stacks: 20 distinct tasks, 20 reads, however often they appear.
    expect(stack.simulator.stats().resultRequests).toBe(20);

    stack.simulator.resetStats();
    const idsOnly = await call(stack, MY_TASK_IDS, { first: 100 });
    expect(idsOnly.data.myTasks.edges).toHaveLength(25);
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });

  it('counts nodes against OPERATION_MAX_TASK_READS like any task read', async () => {
    const tight = await startStack({ env: { OPERATION_MAX_TASK_READS: '2' } });
    try {
      for (let i = 0; i < 3; i++) await create(tight, `@1 budget ${i}`);
      const answer = await call(tight, MY_TASKS, { first: 3 });
      expect(answer.data.myTasks.edges).toHaveLength(3);
      expect(answer.data.myTasks.edges.filter((edge: { node: unknown }) => edge.node === null)).toHaveLength(1);
      expect(answer.errors?.map((error) => error.extensions?.code)).toEqual(['TOO_MANY_READS']);
    } finally {
      await tight.close();
    }
  });
});

describe('tenants with client keys', () => {
  // The response cache is on here, to show that a history listing is never answered from it.
  const stack = useStack({ env: { ...KEYED_ENV, TASK_CACHE_MAX_ENTRIES: '100' } });
  const shop = bearer(SHOP_KEY);
  const studio = bearer(STUDIO_KEY);

  it('keeps each tenant\'s history to itself: myTasks, node and deleteTask', async () => {
    const shopIds = [await create(stack, '@1 shop one', shop), await create(stack, '@1 shop two', shop)];
    const studioId = await create(stack, '@1 studio one', studio);

    const shopList = await call(stack, MY_TASKS, { first: 100 }, shop);
    expect(shopList.errors).toBeUndefined();
    expect(shopList.data.myTasks.totalCount).toBe(2);
    expect(shopList.data.myTasks.edges.map((edge: { node: { id: string } }) => edge.node.id).sort()).toEqual([...shopIds].sort());
    const studioList = await call(stack, MY_TASKS, { first: 100 }, studio);
    expect(studioList.data.myTasks.totalCount).toBe(1);
    expect(studioList.data.myTasks.edges[0].node).toMatchObject({ id: studioId, prompt: '@1 studio one' });

    // The studio cannot see or delete the shop's task: exactly as if it did not exist.
    expect((await call(stack, NODE, { id: shopIds[0] }, studio)).data.node).toBeNull();
    expect((await call(stack, NODE, { id: shopIds[0] }, shop)).data.node).toMatchObject({ __typename: 'Task', id: shopIds[0], prompt: '@1 shop one' });
    const stolen = await call(stack, DELETE, { id: shopIds[0] }, studio);
    expect(stolen.data.deleteTask).toEqual({ deletedTaskId: null, userErrors: [{ field: ['id'], code: 'NOT_FOUND', message: expect.any(String) }] });
    expect((await call(stack, MY_TASK_IDS, { first: 100 }, shop)).data.myTasks.totalCount).toBe(2);

    // A cursor of the shop's is no cursor for the studio, and an altered one is no cursor at all.
    const cursor = shopList.data.myTasks.edges[0].cursor as string;
    const borrowed = await call(stack, MY_TASK_IDS, { first: 5, after: cursor }, studio);
    expect(borrowed.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    // The task id in a cursor is signed like every id: change one character of its MAC.
    const text = Buffer.from(cursor, 'base64url').toString('utf8');
    const mac = text.lastIndexOf('.') + 1;
    const altered = Buffer.from(`${text.slice(0, mac)}${text[mac] === 'A' ? 'B' : 'A'}${text.slice(mac + 1)}`).toString('base64url');
    const forged = await call(stack, MY_TASK_IDS, { first: 5, after: altered }, shop);
    expect(forged.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    // The genuine one works for its owner.
    expect((await call(stack, MY_TASK_IDS, { first: 5, after: cursor }, shop)).errors).toBeUndefined();

    // The owner deletes it.
    const deleted = await call(stack, DELETE, { id: shopIds[0] }, shop);
    expect(deleted.data.deleteTask).toEqual({ deletedTaskId: shopIds[0], userErrors: [] });
    expect((await call(stack, MY_TASK_IDS, { first: 100 }, shop)).data.myTasks.totalCount).toBe(1);
    expect((await call(stack, MY_TASK_IDS, { first: 100 }, studio)).data.myTasks.totalCount).toBe(1);
  });

  it('never answers a listing from the response cache: a new task shows at once', async () => {
    const query = '{ myTasks(first: 100) { totalCount edges { node { id status } } } }';
    // A listing that reads a task: exactly what the response cache would otherwise keep.
    await create(stack, '@1 studio listed', studio);
    const first = await call(stack, query, {}, studio);
    expect(first.data.myTasks.edges.length).toBeGreaterThan(0);
    expect(first.errors).toBeUndefined();
    const id = await create(stack, '@1 studio two', studio);
    const second = await call(stack, query, {}, studio);
    expect(second.data.myTasks.totalCount).toBe(first.data.myTasks.totalCount + 1);
    expect(second.data.myTasks.edges[0].node.id).toBe(id);
  });

  it('needs a key: without one the history is not there to read', async () => {
    const answer = await call(stack, MY_TASK_IDS, { first: 5 });
    expect(answer.status).toBe(401);
  });
});

describe('a durable history', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-history-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('survives a restart on the same DATA_DIR, and the store holds each record once the create has answered', async () => {
    // One simulator for both gateways, so the tasks still exist upstream after the restart.
    const simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 600 });
    const startOnDataDir = (env: Record<string, string> = {}) => {
      const config = gatewayConfigFor(simulator.url, {
        DATA_DIR: dataDir,
        ...env,
      });
      return startGateway(config, createLogger(config));
    };
    try {
      const first = await startOnDataDir();
      let ids: string[];
      try {
        ids = [await create({ gateway: first }, '@1 before the restart'), await create({ gateway: first }, '@1 also before')];
      } finally {
        await first.close();
      }

      // The store itself, opened on the same SQLite file once the gateway is gone.
      const history = await openTaskHistory({ dataDir, databaseUrl: undefined, logger: createLogger({ logLevel: 'silent' }) });
      try {
        const records = await history.getMany(SHARED_HISTORY, ids);
        expect([...records.keys()].sort()).toEqual([...ids].sort());
        expect(records.get(ids[0]!)).toMatchObject({ taskId: ids[0], prompt: '@1 before the restart', status: 'QUEUED' });
      } finally {
        await history.close();
      }

      // A tight ration of reads of unknown ids: tasks listed from the history are not guesses, even
      // in a process that has never seen them.
      const second = await startOnDataDir({ TASK_UNKNOWN_ID_READS_BURST: '1', TASK_UNKNOWN_ID_READS_PER_MINUTE: '1' });
      try {
        const answer = await call({ gateway: second }, MY_TASKS, { first: 10 });
        expect(answer.errors).toBeUndefined();
        expect(answer.data.myTasks.totalCount).toBe(2);
        expect(answer.data.myTasks.edges.map((edge: { node: { id: string; prompt: string } }) => [edge.node.id, edge.node.prompt])).toEqual(
          expect.arrayContaining([
            [ids[0], '@1 before the restart'],
            [ids[1], '@1 also before'],
          ]),
        );
      } finally {
        await second.close();
      }
    } finally {
      await simulator.close();
    }
  });

  it('answers HISTORY_UNAVAILABLE rather than an id the history lacks; the same Idempotency-Key then returns the task without a second video', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-history-locked-'));
    const stack = await startStack({ env: { DATA_DIR: dir } });
    // Another connection holds the write lock: the gateway's record waits out its busy timeout and fails.
    const blocker = new Database(join(dir, SQLITE_FILE_NAME));
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const key = { 'idempotency-key': 'history-down-1' };
      const refused = await call(stack, CREATE, { input: videoInput('@1 while the history is down') }, key);
      expect(refused.data).toBeNull();
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors![0]!.extensions).toMatchObject({ code: 'HISTORY_UNAVAILABLE' });
      expect(refused.errors![0]!.message).not.toMatch(/SQLITE|busy|locked/i);
      expect(stack.simulator.createdTaskCount()).toBe(1);
      blocker.exec('ROLLBACK');

      const replayed = await call(stack, CREATE, { input: videoInput('@1 while the history is down') }, key);
      expect(replayed.errors).toBeUndefined();
      const id = replayed.data.createReferenceVideo.taskId as string;
      expect(id).toEqual(expect.any(String));
      expect(stack.simulator.createdTaskCount()).toBe(1);
      const listed = await call(stack, MY_TASKS, { first: 10 });
      expect(listed.data.myTasks.edges.map((edge: { node: { id: string; prompt: string } }) => [edge.node.id, edge.node.prompt])).toEqual([
        [id, '@1 while the history is down'],
      ]);
      expect(stack.logs.text()).toContain('HISTORY_UNAVAILABLE');
    } finally {
      blocker.close();
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
