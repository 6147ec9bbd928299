// Shared state on a real Redis: idempotent creates and create rate limits agree across replicas,
// and Redis trouble makes keyed creates fail closed instead of billing twice.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { redisAvailableOrExplain, RedisProxy, TEST_REDIS_URL, testKeyPrefix } from './support/redis.js';
import { gatewayConfigFor, UPSTREAM_TEST_KEY } from './support/stack.js';
import { dataDirForThisTest } from './support/data-dir.js';

const runs = await redisAvailableOrExplain('Redis shared-state suite');

let simulator: Simulator;
const replicas: RunningGateway[] = [];
beforeAll(async () => {
  simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 60_000 });
});
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.close()));
  simulator.clearFaults();
  simulator.resetStats();
});
afterAll(async () => {
  await simulator.close();
});

async function replica(env: Record<string, string>): Promise<RunningGateway> {
  const config = gatewayConfigFor(simulator.url, {
    TASK_CACHE_MAX_ENTRIES: '0',
    DATA_DIR: dataDirForThisTest(),
    ...env,
  });
  const gateway = await startGateway(config, createLogger(config));
  replicas.push(gateway);
  return gateway;
}

async function replicasOnRedis(count: number, env: Record<string, string> = {}, url = TEST_REDIS_URL): Promise<RunningGateway[]> {
  const prefix = testKeyPrefix();
  const started = await Promise.all(Array.from({ length: count }, () => replica({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, ...env })));
  for (const gateway of started) await expect.poll(async () => (await fetch(`${gateway.url}/ready`)).status, { timeout: 3000 }).toBe(200);
  return started;
}

async function create(gateway: RunningGateway, options: { idempotencyKey?: string; prompt?: string } = {}) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}) },
    body: JSON.stringify({
      query: 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { code } } }',
      variables: { input: { prompt: options.prompt ?? '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
    }),
  });
  // any: the payload or the errors, checked by each test.
  return (await response.json()) as { data?: { createReferenceVideo: any } | null; errors?: { extensions?: Record<string, unknown> }[] };
}

describe.runIf(runs)('shared state on Redis', () => {
  it('5 concurrent creates with one key, spread over 2 replicas, make 1 upstream POST and return one task', async () => {
    const [a, b] = await replicasOnRedis(2);
    simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 300 });
    const results = await Promise.all([a, b, a, b, a].map((gateway) => create(gateway!, { idempotencyKey: 'order-7' })));
    const ids = new Set(results.map((r) => r.data?.createReferenceVideo.taskId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeTruthy();
    expect(simulator.stats().createRequests).toBe(1);
  });

  it('the same key with other input is refused on another replica', async () => {
    const [a, b] = await replicasOnRedis(2);
    expect((await create(a!, { idempotencyKey: 'k' })).data?.createReferenceVideo.taskId).toBeTruthy();
    const reused = await create(b!, { idempotencyKey: 'k', prompt: '@1 runs' });
    expect(reused.data?.createReferenceVideo.userErrors).toEqual([{ code: 'IDEMPOTENCY_KEY_REUSED' }]);
  });

  it('a request that waited its bound for the winner gets IDEMPOTENCY_IN_PROGRESS with retryAfterSeconds', async () => {
    const [a, b] = await replicasOnRedis(2, { IDEMPOTENCY_WAIT_MS: '200' });
    simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 1500 });
    const first = create(a!, { idempotencyKey: 'slow' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await create(b!, { idempotencyKey: 'slow' });
    expect(second.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', retryAfterSeconds: expect.any(Number) });
    expect((await first).data?.createReferenceVideo.taskId).toBeTruthy();
    expect(simulator.stats().createRequests).toBe(1);
  });

  it('create rate limits are shared by the replicas', async () => {
    const [a, b] = await replicasOnRedis(2, { CREATE_RATE_LIMIT_BURST: '2', CREATE_RATE_LIMIT_PER_MINUTE: '1' });
    expect((await create(a!)).data?.createReferenceVideo.taskId).toBeTruthy();
    expect((await create(b!)).data?.createReferenceVideo.taskId).toBeTruthy();
    const third = await create(a!);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(simulator.stats().createRequests).toBe(2);
  });

  it('Redis lost while running: keyed creates fail closed at once, unkeyed ones proceed, /ready says not ready; all recover when it returns', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    try {
      const [gateway] = await replicasOnRedis(1, {}, proxy.url);
      await proxy.cut();
      await expect.poll(async () => (await fetch(`${gateway!.url}/ready`)).status, { timeout: 3000 }).toBe(503);
      expect(await (await fetch(`${gateway!.url}/metrics`)).text()).toMatch(/gateway_redis_connected 0/);
      const started = Date.now();
      const keyed = await create(gateway!, { idempotencyKey: 'during-outage' });
      expect(keyed.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(simulator.stats().createRequests).toBe(0);
      expect((await create(gateway!)).data?.createReferenceVideo.taskId).toBeTruthy();

      await proxy.start(); // same port: the client reconnects by itself
      await expect.poll(async () => (await fetch(`${gateway!.url}/ready`)).status, { timeout: 8000 }).toBe(200);
      expect(await (await fetch(`${gateway!.url}/metrics`)).text()).toMatch(/gateway_redis_connected 1/);
      expect((await create(gateway!, { idempotencyKey: 'after-outage' })).data?.createReferenceVideo.taskId).toBeTruthy();
    } finally {
      await proxy.stop();
    }
  }, 20_000);

  it('replicas started while Redis was away share one poller once it is back, and every watcher sees the end', async () => {
    const fast = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 2500 });
    const proxy = new RedisProxy();
    await proxy.start();
    const url = proxy.url;
    await proxy.cut();
    try {
      const prefix = testKeyPrefix();
      const live = { LIVE_POLL_MIN_INTERVAL_MS: '150', LIVE_POLL_MAX_INTERVAL_MS: '300', TASK_CACHE_PENDING_TTL_MS: '100', TASK_CACHE_MAX_ENTRIES: '1000' };
      const [a, b] = await Promise.all([0, 1].map(() => replica({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, UPSTREAM_BASE_URL: fast.url, ...live })));
      await proxy.start();
      for (const gateway of [a!, b!]) await expect.poll(async () => (await fetch(`${gateway.url}/ready`)).status, { timeout: 8000 }).toBe(200);
      const id = (await create(a!)).data?.createReferenceVideo.taskId as string;
      const watch = async (gateway: RunningGateway) => {
        const response = await fetch(`${gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: 'subscription($id: ID!) { taskUpdates(id: $id) { status } }', variables: { id } }),
        });
        return response.text();
      };
      const [fromA, fromB] = await Promise.all([watch(a!), watch(b!)]);
      expect(fromA).toContain('SUCCEEDED');
      expect(fromB).toContain('SUCCEEDED');
    } finally {
      await Promise.all(replicas.splice(0).map((gateway) => gateway.close()));
      await proxy.stop();
      await fast.close();
    }
  }, 20_000);

  it('Redis unreachable at start: the gateway starts, is not ready, and serves unkeyed creates', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    const url = proxy.url;
    await proxy.stop();
    const gateway = await replica({ REDIS_URL: url, REDIS_KEY_PREFIX: testKeyPrefix() });
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    expect((await create(gateway)).data?.createReferenceVideo.taskId).toBeTruthy();
    expect((await create(gateway, { idempotencyKey: 'x' })).errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_UNAVAILABLE');
  });
});

describe.runIf(runs)('one poller per task across replicas', () => {
  const SUBSCRIPTION = 'subscription($id: ID!) { taskUpdates(id: $id) { status progressPercent } }';
  const LIVE = { LIVE_POLL_MIN_INTERVAL_MS: '150', LIVE_POLL_MAX_INTERVAL_MS: '300', LIVE_POLL_JITTER_PERCENT: '0', TASK_CACHE_PENDING_TTL_MS: '100', TASK_CACHE_MAX_ENTRIES: '1000' };

  async function watch(gateway: RunningGateway, id: string): Promise<string[]> {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { id } }),
    });
    const text = await response.text();
    return [...text.matchAll(/"status":"(\w+)"/g)].map((match) => match[1]!);
  }

  it('a replica answers a task another replica already read, without an upstream call', async () => {
    const [a, b] = await replicasOnRedis(2, LIVE);
    const read = JSON.stringify({ query: '{ task(id: "demo-succeeded") { status } }' });
    const ask = (gateway: RunningGateway) => fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: read });
    await ask(a!);
    simulator.resetStats();
    expect(await (await ask(b!)).json()).toEqual({ data: { task: { status: 'SUCCEEDED' } } });
    expect(simulator.stats().resultRequests).toBe(0);
  });

  it('30 subscribers spread over 3 replicas share one upstream poll per interval, and all see the end', async () => {
    const fast = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 2500 });
    try {
      const gateways = await replicasOnRedis(3, { ...LIVE, UPSTREAM_BASE_URL: fast.url });
      const created = await create(gateways[0]!);
      const id = created.data?.createReferenceVideo.taskId as string;
      fast.resetStats();
      const started = Date.now();
      const all = await Promise.all(Array.from({ length: 30 }, (_, i) => watch(gateways[i % 3]!, id)));
      const elapsed = Date.now() - started;
      for (const statuses of all) expect(statuses.at(-1)).toBe('SUCCEEDED');
      // One poller cluster-wide reads at most every 150 ms (three would read about three times as
      // often); each replica's first look may read once more while the shared cache is cold.
      expect(fast.stats().resultRequests).toBeLessThanOrEqual(Math.ceil(elapsed / 150) + 3);
      expect(fast.stats().resultRequests).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(replicas.splice(0).map((replica) => replica.close()));
      await fast.close();
    }
  });
});
