// Following across replicas: three gateways sharing one Redis and one PostgreSQL history all pick up
// a task nobody watches (the creator at once, the others at their rescan), yet the upstream reads it
// once per interval in total (the poll lease), and its history status reaches SUCCEEDED.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { createThrowawayDatabase, postgresAvailableOrExplain, type ThrowawayDatabase } from './support/postgres.js';
import { redisAvailableOrExplain, TEST_REDIS_URL, testKeyPrefix } from './support/redis.js';
import { gatewayConfigFor, UPSTREAM_TEST_KEY } from './support/stack.js';

const runs = (await redisAvailableOrExplain('Following across replicas')) && (await postgresAvailableOrExplain('Following across replicas'));

const INTERVAL_MS = 200;
let simulator: Simulator;
let database: ThrowawayDatabase | undefined;
const replicas: RunningGateway[] = [];
beforeAll(async () => {
  simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 3000 });
  if (runs) database = await createThrowawayDatabase();
});
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
  simulator.resetStats();
});
afterAll(async () => {
  await simulator.close();
  await database?.drop();
});

async function replica(prefix: string): Promise<RunningGateway> {
  const config = gatewayConfigFor(simulator.url, {
    TASK_CACHE_MAX_ENTRIES: '0',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    DATABASE_URL: database!.url,
    LIVE_POLL_MIN_INTERVAL_MS: String(INTERVAL_MS),
    LIVE_POLL_MAX_INTERVAL_MS: String(INTERVAL_MS),
    LIVE_POLL_JITTER_PERCENT: '0',
    TASK_CACHE_PENDING_TTL_MS: '100',
    FOLLOW_RESCAN_INTERVAL_MS: '300',
  });
  const gateway = await startGateway(config, createLogger(config));
  replicas.push(gateway);
  return gateway;
}

async function graphql(gateway: RunningGateway, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  // `any`: response shapes differ per query; the tests check them with expect().
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

async function followed(gateway: RunningGateway): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^gateway_followed_tasks (\S+)$/m.exec(text)?.[1]);
}

describe.runIf(runs)('following with 3 replicas on one Redis and one PostgreSQL history', () => {
  it('a task nobody watches is followed by every replica, read by one per interval, and reaches SUCCEEDED in the history', async () => {
    const prefix = testKeyPrefix();
    const [creator, ...others] = await Promise.all([replica(prefix), replica(prefix), replica(prefix)]);
    for (const gateway of [creator!, ...others]) {
      await expect.poll(async () => (await fetch(`${gateway.url}/ready`)).status, { timeout: 3000 }).toBe(200);
    }
    simulator.resetStats();
    const started = Date.now();
    const created = await graphql(
      creator!,
      'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }',
      { input: { prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
    );
    expect(created.data?.createReferenceVideo.taskId).toBeTruthy();

    // Every replica follows it: the creator at once, the others from their rescan of the shared history.
    await expect.poll(async () => Promise.all([creator!, ...others].map(followed)), { timeout: 2500, interval: 50 }).toEqual([1, 1, 1]);

    const succeeded = () => graphql(others[1]!, 'query { myTasks(status: [SUCCEEDED]) { totalCount } }').then((answer) => answer.data?.myTasks.totalCount);
    await expect.poll(succeeded, { timeout: 15_000, interval: 100 }).toBe(1);
    const elapsed = Date.now() - started;
    // One lease holder reads per 200 ms interval; three replicas reading for themselves would make about three times as many.
    expect(simulator.stats().resultRequests).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 3);
    // And every replica saw the end: nobody follows it any more.
    await expect.poll(async () => Promise.all([creator!, ...others].map(followed)), { timeout: 3000 }).toEqual([0, 0, 0]);
    for (const gateway of [creator!, ...others]) expect(gateway.live.activePollers).toBe(0);
  }, 30_000);
});
