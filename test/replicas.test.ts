// Three real gateway processes on one Redis and one simulator: one upstream poll per interval in
// total, one POST for duplicate creates, a killed lease holder or a Redis outage only a pause.
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { redisAvailableOrExplain, RedisProxy, TEST_REDIS_URL, testKeyPrefix } from './support/redis.js';
import { UPSTREAM_TEST_KEY } from './support/stack.js';

const runs = await redisAvailableOrExplain('Multi-process replica suite');

type Replica = Awaited<ReturnType<typeof startGatewayProcess>>;

let simulator: Simulator;
let agent: Agent;
const children: ChildProcess[] = [];
beforeAll(async () => {
  simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 4000 });
  agent = new Agent({ connections: 500, bodyTimeout: 0, headersTimeout: 0 });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  simulator.clearFaults();
  simulator.resetStats();
});
afterAll(async () => {
  await agent.close();
  await simulator.close();
});

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const replica = await startGatewayProcess({
    UPSTREAM_API_KEY: UPSTREAM_TEST_KEY,
    UPSTREAM_BASE_URL: simulator.url,
    LIVE_POLL_MIN_INTERVAL_MS: '200',
    LIVE_POLL_MAX_INTERVAL_MS: '1000',
    LIVE_POLL_JITTER_PERCENT: '0',
    TASK_CACHE_PENDING_TTL_MS: '200',
    SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
  children.push(replica.child);
  return replica;
}

async function startReplicas(count: number, redisUrl = TEST_REDIS_URL) {
  const prefix = testKeyPrefix();
  const replicas = await Promise.all(Array.from({ length: count }, () => startReplica({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix })));
  for (const replica of replicas) {
    await expect.poll(async () => (await fetch(replica.url.replace('/graphql', '/ready'))).status, { timeout: 5000 }).toBe(200);
  }
  return { replicas, prefix };
}

async function create(replica: Replica, idempotencyKey?: string): Promise<{ taskId?: string; code?: unknown }> {
  const { body } = await request(replica.url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify({ query: 'mutation { createReferenceVideo(input: { prompt: "@1 waves", subjects: [{ id: "1", images: ["https://e.com/a.png"] }] }) { taskId } }' }),
  });
  const json = (await body.json()) as { data?: { createReferenceVideo: { taskId: string } }; errors?: { extensions?: { code?: unknown } }[] };
  return { taskId: json.data?.createReferenceVideo.taskId, code: json.errors?.[0]?.extensions?.code };
}

/** Follows a task over SSE; resolves with the statuses seen, or the ones seen until the stream broke. */
async function watch(replica: Replica, id: string): Promise<string[]> {
  const statuses: string[] = [];
  try {
    const { body } = await request(replica.url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription($id: ID!) { taskUpdates(id: $id) { status } }', variables: { id } }),
    });
    for await (const chunk of body) for (const match of String(chunk).matchAll(/"status":"(\w+)"/g)) statuses.push(match[1]!);
  } catch {
    // a killed replica cuts its streams
  }
  return statuses;
}

describe.runIf(runs)('3 gateway processes on one Redis', () => {
  it('300 SSE subscribers spread over them cause at most one upstream poll per interval in total', async () => {
    const { replicas } = await startReplicas(3);
    const { taskId } = await create(replicas[0]!);
    simulator.resetStats();
    const started = Date.now();
    const all = await Promise.all(Array.from({ length: 300 }, (_, i) => watch(replicas[i % 3]!, taskId!)));
    const elapsed = Date.now() - started;
    expect(all.filter((statuses) => statuses.at(-1) === 'SUCCEEDED')).toHaveLength(300);
    expect(simulator.stats().resultRequests).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 3);
  }, 30_000);

  it('5 concurrent creates with one key spread over them make 1 POST and return one task', async () => {
    const { replicas } = await startReplicas(3);
    simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 300 });
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => create(replicas[i % 3]!, 'shared-key-1')));
    expect(new Set(results.map((r) => r.taskId)).size).toBe(1);
    expect(results[0]?.taskId).toBeTruthy();
    expect(simulator.stats().createRequests).toBe(1);
  }, 30_000);

  it('kill -9 of the lease holder: the other replicas take over and their subscribers complete', async () => {
    const { replicas, prefix } = await startReplicas(3);
    const { taskId } = await create(replicas[0]!);
    const watching = replicas.map((replica) => Array.from({ length: 10 }, () => watch(replica, taskId!)));
    const admin = new Redis(TEST_REDIS_URL);
    try {
      let holder: string | null = null;
      await expect.poll(async () => (holder = await admin.get(`${prefix}lease:${taskId}`)), { timeout: 5000 }).toBeTruthy();
      const pid = Number(holder!.split(':')[1]);
      const victim = replicas.find((replica) => replica.child.pid === pid)!;
      expect(victim).toBeDefined();
      victim.child.kill('SIGKILL');
      const survivors = replicas.filter((replica) => replica !== victim);
      const results = await Promise.all(survivors.flatMap((replica) => watching[replicas.indexOf(replica)]!));
      expect(results.every((statuses) => statuses.at(-1) === 'SUCCEEDED')).toBe(true);
      expect((await admin.get(`${prefix}lease:${taskId}`)) ?? 'released').not.toContain(`:${pid}:`);
    } finally {
      admin.disconnect();
    }
  }, 30_000);

  it('Redis connections cut mid-stream: subscriptions go on, a keyed create fails closed, unkeyed ones proceed', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    try {
      const { replicas } = await startReplicas(3, proxy.url);
      const { taskId } = await create(replicas[0]!);
      const watching = Promise.all(replicas.flatMap((replica) => Array.from({ length: 5 }, () => watch(replica, taskId!))));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await proxy.cut();
      expect((await create(replicas[1]!, 'during-outage')).code).toBe('IDEMPOTENCY_UNAVAILABLE');
      expect((await create(replicas[2]!)).taskId).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await proxy.start();
      const results = await watching;
      expect(results.every((statuses) => statuses.at(-1) === 'SUCCEEDED')).toBe(true);
      for (const replica of replicas) {
        await expect.poll(async () => (await fetch(replica.url.replace('/graphql', '/ready'))).status, { timeout: 8000 }).toBe(200);
      }
    } finally {
      await proxy.stop();
    }
  }, 30_000);
});
