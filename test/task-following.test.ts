// Every task created through the gateway is followed to its end server-side, over real HTTP: its
// history status becomes terminal with nobody reading it, a subscriber shares the same poller, a
// restart resumes unfinished tasks, deleteTask and shutdown stop following, the cap queues tasks
// in the history, and a task the upstream does not know rests instead of being polled in a loop.
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTaskHistory } from '../src/history/open-task-history.js';
import { SHARED_HISTORY } from '../src/history/task-history.js';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { dataDirForThisTest } from './support/data-dir.js';
import { gatewayConfigFor, startStack, UPSTREAM_TEST_KEY, type Stack } from './support/stack.js';

// Following is off in test stacks by default (they count upstream reads per request): on here.
const FAST_POLLS = { FOLLOW_MAX_TASKS: '10000', LIVE_POLL_MIN_INTERVAL_MS: '100', LIVE_POLL_MAX_INTERVAL_MS: '200', LIVE_POLL_JITTER_PERCENT: '0', TASK_CACHE_PENDING_TTL_MS: '100' };
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const input = (prompt = '@1 dances') => ({ prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] });
/** Only the count: listing nodes would read the tasks, and this suite proves nobody needs to. */
const COUNT_BY_STATUS = 'query($status: [TaskStatus!]) { myTasks(status: $status) { totalCount } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function stack(env: Record<string, string> = {}, taskDurationMs = 600): Promise<Stack> {
  const started = await startStack({ simulator: { taskDurationMs }, env: { ...FAST_POLLS, ...env } });
  stacks.push(started);
  return started;
}

async function createTask(s: Pick<Stack, 'graphql'>, prompt?: string): Promise<string> {
  const { body } = await s.graphql(CREATE, { input: input(prompt) });
  expect(body.errors).toBeUndefined();
  return body.data.createReferenceVideo.taskId as string;
}

async function countByStatus(s: Pick<Stack, 'graphql'>, status: string[]): Promise<number> {
  const { body } = await s.graphql(COUNT_BY_STATUS, { status });
  return body.data.myTasks.totalCount as number;
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`no ${name} on /metrics`);
  return Number(match[1]);
}

describe('following on one gateway', () => {
  it('a task created and never read reaches SUCCEEDED in the history by itself', async () => {
    const s = await stack();
    await createTask(s);
    expect(await countByStatus(s, ['QUEUED', 'PROCESSING'])).toBe(1);
    await expect.poll(() => countByStatus(s, ['SUCCEEDED']), { timeout: 10_000, interval: 100 }).toBe(1);
    expect(s.simulator.stats().resultRequests).toBeGreaterThanOrEqual(1);
    // Followed to the end: nothing polls it any more.
    expect(s.gateway.live.activePollers).toBe(0);
    expect(await gauge(s.gateway.url, 'gateway_followed_tasks')).toBe(0);
  });

  it('a FAILED task is followed to FAILED', async () => {
    const s = await stack();
    await createTask(s, '@1 trips [sim:fail]');
    await expect.poll(() => countByStatus(s, ['FAILED']), { timeout: 10_000, interval: 100 }).toBe(1);
  });

  it('a followed task that a subscriber also watches costs one poller, read as for one watcher', async () => {
    const s = await stack({ LIVE_POLL_MIN_INTERVAL_MS: '200', LIVE_POLL_MAX_INTERVAL_MS: '200', TASK_CACHE_PENDING_TTL_MS: '100' }, 3000);
    const id = await createTask(s);
    expect(s.gateway.live.activePollers).toBe(1);
    const client = createSseClient({ url: `${s.gateway.url}/graphql`, singleConnection: false, retryAttempts: 0 });
    const statuses: string[] = [];
    const started = Date.now();
    let readsAtFirstEvent = -1;
    for await (const result of client.iterate({ query: 'subscription($id: ID!) { taskUpdates(id: $id) { status } }', variables: { id } })) {
      const status = (result.data as { taskUpdates: { status: string } }).taskUpdates.status;
      statuses.push(status);
      if (readsAtFirstEvent < 0) {
        readsAtFirstEvent = s.simulator.stats().resultRequests;
        // The subscriber joined the follower's poller: still one, and one subscription counted.
        expect(s.gateway.live.activePollers).toBe(1);
        expect(s.gateway.live.activeWatchers).toBe(1);
        expect(await gauge(s.gateway.url, 'gateway_followed_tasks')).toBe(1);
      }
    }
    client.dispose();
    const elapsed = Date.now() - started;
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    // One poller at a fixed 200 ms interval: about elapsed / 200 reads in all (two would make twice that).
    expect(s.simulator.stats().resultRequests).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
    expect(s.gateway.live.activePollers).toBe(0);
    expect(await countByStatus(s, ['SUCCEEDED'])).toBe(1);
  });

  it('deleteTask stops following the task', async () => {
    const s = await stack({}, 60_000);
    const id = await createTask(s);
    await expect.poll(() => s.simulator.stats().resultRequests, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(s.gateway.live.activePollers).toBe(1);
    const { body } = await s.graphql('mutation($id: ID!) { deleteTask(id: $id) { deletedTaskId userErrors { code } } }', { id });
    expect(body.data.deleteTask).toEqual({ deletedTaskId: id, userErrors: [] });
    expect(s.gateway.live.activePollers).toBe(0);
    expect(await gauge(s.gateway.url, 'gateway_followed_tasks')).toBe(0);
    const readsAfterDelete = s.simulator.stats().resultRequests;
    await sleep(700);
    // At most a read that was already under way.
    expect(s.simulator.stats().resultRequests).toBeLessThanOrEqual(readsAfterDelete + 1);
  });

  it('FOLLOW_MAX_TASKS bounds the tasks followed at once; the others wait in the history and are followed after', async () => {
    const s = await stack({ FOLLOW_MAX_TASKS: '1', FOLLOW_RESCAN_INTERVAL_MS: '60000' }, 800);
    for (let i = 0; i < 3; i++) await createTask(s);
    let most = 0;
    await expect
      .poll(
        async () => {
          most = Math.max(most, s.gateway.live.activePollers, await gauge(s.gateway.url, 'gateway_followed_tasks'));
          return countByStatus(s, ['SUCCEEDED']);
        },
        { timeout: 15_000, interval: 50 },
      )
      .toBe(3);
    expect(most).toBe(1);
  });

  it('FOLLOW_MAX_TASKS=0 turns following off: a task nobody reads stays QUEUED', async () => {
    const s = await stack({ FOLLOW_MAX_TASKS: '0' });
    await createTask(s);
    expect(s.gateway.live.activePollers).toBe(0);
    await sleep(1500);
    expect(s.simulator.stats().resultRequests).toBe(0);
    expect(await countByStatus(s, ['QUEUED'])).toBe(1);
  });

  it('shutdown stops every following, marking nothing, and leaves no poller', async () => {
    const s = await startStack({ simulator: { taskDurationMs: 60_000 }, env: FAST_POLLS });
    try {
      for (let i = 0; i < 3; i++) await createTask(s);
      expect(s.gateway.live.activePollers).toBe(3);
      await s.gateway.close();
      expect(s.gateway.live.activePollers).toBe(0);
      const readsAfterClose = s.simulator.stats().resultRequests;
      await sleep(500);
      expect(s.simulator.stats().resultRequests).toBe(readsAfterClose);
    } finally {
      await s.simulator.close();
    }
  });
});

describe('following across restarts and upstream trouble', () => {
  let simulator: Simulator;
  const gateways: RunningGateway[] = [];
  beforeAll(async () => {
    simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 3000 });
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
    simulator.resetStats();
  });
  afterAll(async () => {
    await simulator.close();
  });

  async function gateway(dataDir: string, env: Record<string, string> = {}): Promise<RunningGateway & Pick<Stack, 'graphql'>> {
    const config = gatewayConfigFor(simulator.url, {
      TASK_CACHE_MAX_ENTRIES: '0',
      DATA_DIR: dataDir,
      ...FAST_POLLS,
      ...env,
    });
    const started = await startGateway(config, createLogger(config));
    gateways.push(started);
    return {
      ...started,
      close: started.close.bind(started),
      live: started.live,
      async graphql(query, variables) {
        const response = await fetch(`${started.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query, variables }),
        });
        const text = await response.text();
        return { status: response.status, body: JSON.parse(text) as never, text };
      },
    };
  }

  it('a restart on the same DATA_DIR resumes a task still QUEUED and follows it to SUCCEEDED, with nobody reading it', async () => {
    const dataDir = dataDirForThisTest();
    const first = await gateway(dataDir);
    await createTask(first);
    // Shut down at once, while the task is still QUEUED: nothing is marked.
    await first.close();
    gateways.splice(gateways.indexOf(first), 1);
    simulator.resetStats();

    const second = await gateway(dataDir);
    expect(await countByStatus(second, ['SUCCEEDED'])).toBe(0);
    await expect.poll(() => gauge(second.url, 'gateway_followed_tasks'), { timeout: 5000 }).toBe(1);
    await expect.poll(() => countByStatus(second, ['SUCCEEDED']), { timeout: 15_000, interval: 100 }).toBe(1);
    expect(simulator.stats().resultRequests).toBeGreaterThanOrEqual(1);
    expect(second.live.activePollers).toBe(0);
  });

  it('a task the upstream does not know rests between tries, longer each time, instead of being polled in a loop', async () => {
    const dataDir = dataDirForThisTest();
    // In the history, unknown to the upstream (as after the upstream forgot it).
    const history = await openTaskHistory({ dataDir, databaseUrl: undefined, logger: createLogger({ logLevel: 'silent' }) });
    await history.record({ owner: SHARED_HISTORY, taskId: 'forgotten-by-the-upstream', prompt: 'p', createdAt: new Date() });
    await history.close();

    const started = Date.now();
    const running = await gateway(dataDir, { FOLLOW_RESCAN_INTERVAL_MS: '300', FOLLOW_RETRY_MAX_DELAY_MS: '1200' });
    await expect.poll(() => gauge(running.url, 'gateway_resting_followed_tasks'), { timeout: 5000 }).toBe(1);
    await sleep(3000);
    const elapsed = Date.now() - started;
    const reads = simulator.stats().resultRequests;
    // Rests of 300, 600, 1200, 1200… ms: a handful of tries (polling at 100 ms would be about 30).
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / 1200) + 3);
    expect(running.live.activePollers).toBeLessThanOrEqual(1);
    // Nothing is written for it: it stays unfinished in the history.
    expect(await countByStatus(running, ['QUEUED'])).toBe(1);
  });
});
