// Signed-in end users (JWTs from an identity provider) over real HTTP, SSE and WebSocket: each user
// sees only their own tasks while the tenant's client key sees them all, ownership outlives a
// restart, every bad token gets the same 401 (the reason goes to the log only), keys rotate under a
// running gateway, and credit budgets and the per-user create rate hold, on one gateway and on two
// sharing Redis.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { dataDirForThisTest } from './support/data-dir.js';
import { startJwksServer, type JwksServer } from './support/jwks-server.js';
import { redisAvailableOrExplain, TEST_REDIS_URL, testKeyPrefix } from './support/redis.js';
import { gatewayConfigFor, stackPerTest, startStack, UPSTREAM_TEST_KEY, type Stack } from './support/stack.js';
import { bearer, callGraphQL, type CallTarget } from './support/graphql-call.js';

const SHOP_KEY = 'k-shop-0123456789abcdef';
const ID_SECRET = 'test-id-secret-0123456789abcdef0123456789';

const redisRuns = await redisAvailableOrExplain('End-user budgets on Redis');

/** Anything with a gateway URL: a stack, or a gateway started on its own. */
type Target = CallTarget;
const urlOf = (target: Target) => ('gateway' in target ? target.gateway.url : target.url);
const call = callGraphQL;
const as = bearer;

/**
 * The providers file (a JSON array) naming the test identity provider, whose users are tenant
 * 'shop', written into `dir`; and the env of a gateway with it, the shop's client key and the id secret.
 */
function signInEnv(jwks: JwksServer, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const file = join(dir, 'jwt-providers.json');
  writeFileSync(file, JSON.stringify([{ issuer: jwks.issuer, jwksUrl: jwks.url, audience: jwks.audience, tenant: 'shop' }]));
  return { GATEWAY_API_KEYS: `shop:${SHOP_KEY}`, GATEWAY_ID_SECRET: ID_SECRET, AUTH_JWT_PROVIDERS_FILE: file, ...extra };
}

const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { field code message } } }';
const READ_ALL_WAYS = 'query($id: ID!) { task(id: $id) { id prompt } tasks(ids: [$id]) { id } node(id: $id) { id } }';
const MY_TASKS = '{ myTasks(first: 50) { totalCount edges { node { id prompt } } } }';
const DELETE = 'mutation($id: ID!) { deleteTask(id: $id) { deletedTaskId userErrors { field code message } } }';
const MY_USAGE = '{ myUsage { usedToday dailyLimit resetsAt } }';
const UPDATES = 'subscription($id: ID!) { taskUpdates(id: $id) { id status } }';

interface VideoOptions {
  durationSeconds?: number;
  resolution?: 'RES_540P' | 'RES_720P' | 'RES_1080P';
}

function videoInput(prompt: string, options: VideoOptions = {}) {
  return { prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }], ...options };
}

/** A create's payload (taskId and userErrors); fails the test on top-level errors. */
async function create(target: Target, headers: Record<string, string>, prompt: string, options: VideoOptions = {}) {
  const answer = await call(target, CREATE, { input: videoInput(prompt, options) }, headers);
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  return answer.data.createReferenceVideo as { taskId: string | null; userErrors: { field: string[] | null; code: string; message: string }[] };
}

async function createOk(target: Target, headers: Record<string, string>, prompt: string, options: VideoOptions = {}): Promise<string> {
  const payload = await create(target, headers, prompt, options);
  expect(payload.userErrors).toEqual([]);
  expect(payload.taskId).toEqual(expect.any(String));
  return payload.taskId as string;
}

async function myTasks(target: Target, headers: Record<string, string>) {
  const answer = await call(target, MY_TASKS, {}, headers);
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  const connection = answer.data.myTasks as { totalCount: number; edges: { node: { id: string; prompt: string } }[] };
  return { totalCount: connection.totalCount, nodes: connection.edges.map((edge) => edge.node) };
}

async function myUsage(target: Target, headers: Record<string, string>) {
  const answer = await call(target, MY_USAGE, {}, headers);
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  return answer.data.myUsage as { usedToday: number; dailyLimit: number | null; resetsAt: string };
}

interface StreamResult {
  data?: { taskUpdates: { id: string; status: string } } | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

async function updatesOverSse(target: Target, headers: Record<string, string>, id: string): Promise<StreamResult[]> {
  const client = createSseClient({ url: `${urlOf(target)}/graphql`, headers, singleConnection: false, retryAttempts: 0 });
  const results: StreamResult[] = [];
  try {
    for await (const result of client.iterate({ query: UPDATES, variables: { id } })) results.push(result as StreamResult);
  } finally {
    client.dispose();
  }
  return results;
}

function wsClientFor(target: Target, bearer: string) {
  return createWsClient({
    url: `${urlOf(target).replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${bearer}` },
  });
}

async function updatesOverWs(target: Target, bearer: string, id: string): Promise<StreamResult[]> {
  const client = wsClientFor(target, bearer);
  const results: StreamResult[] = [];
  try {
    for await (const result of client.iterate({ query: UPDATES, variables: { id } })) results.push(result as StreamResult);
  } finally {
    await client.dispose();
  }
  return results;
}

/** The first midnight UTC after `now`, computed here rather than taken from the code under test. */
function nextMidnightUtc(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
}

/** The reasons the authenticator logged for refused tokens, in order. */
function refusalReasons(stack: Stack): string[] {
  return stack.logs.lines
    .map((line) => JSON.parse(line) as { msg?: string; reason?: string })
    .filter((entry) => entry.msg === 'a bearer token was refused')
    .map((entry) => entry.reason ?? '(none)');
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let jwks: JwksServer;
beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(async () => {
  await jwks.close();
});

const stack = stackPerTest();

describe('users of one tenant: each sees only their own tasks, the client key sees all', () => {
  let shared: Stack;
  let dir: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let aliceBearer: string;
  let bobBearer: string;
  let aliceId: string;
  let bobId: string;
  const tenant = as(SHOP_KEY);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'end-users-'));
    // Tasks that stay QUEUED for the whole suite: no stream ends on its own, nothing changes under the counters.
    shared = await startStack({ env: signInEnv(jwks, dir), simulator: { taskDurationMs: 120_000 } });
    aliceBearer = await jwks.sign({ sub: 'alice' });
    bobBearer = await jwks.sign({ sub: 'bob' });
    alice = as(aliceBearer);
    bob = as(bobBearer);
    aliceId = await createOk(shared, alice, "@1 alice's video");
    bobId = await createOk(shared, bob, "@1 bob's video");
  });
  afterAll(async () => {
    await shared?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands each user an id of their own', () => {
    expect(aliceId).not.toBe(bobId);
    // Opaque, not the upstream id.
    expect(aliceId).not.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('alice reads her task by task, tasks, node and myTasks', async () => {
    const read = await call(shared, READ_ALL_WAYS, { id: aliceId }, alice);
    expect(read.status).toBe(200);
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({ task: { id: aliceId, prompt: "@1 alice's video" }, tasks: [{ id: aliceId }], node: { id: aliceId } });
    expect(await myTasks(shared, alice)).toEqual({ totalCount: 1, nodes: [{ id: aliceId, prompt: "@1 alice's video" }] });
  });

  it("bob sees alice's task as not existing everywhere, and none of it reaches the upstream", async () => {
    shared.simulator.resetStats();
    const read = await call(shared, READ_ALL_WAYS, { id: aliceId }, bob);
    expect(read.status).toBe(200);
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({ task: null, tasks: [null], node: null });

    const deleted = await call(shared, DELETE, { id: aliceId }, bob);
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteTask).toEqual({ deletedTaskId: null, userErrors: [{ field: ['id'], code: 'NOT_FOUND', message: expect.any(String) }] });

    const sse = await updatesOverSse(shared, bob, aliceId);
    expect(sse).toHaveLength(1);
    expect(sse[0]?.errors?.[0]?.extensions?.code).toBe('TASK_NOT_FOUND');
    const ws = await updatesOverWs(shared, bobBearer, aliceId);
    expect(ws).toHaveLength(1);
    expect(ws[0]?.errors?.[0]?.extensions?.code).toBe('TASK_NOT_FOUND');

    expect(shared.simulator.stats()).toMatchObject({ createRequests: 0, resultRequests: 0 });
  });

  it("bob's myTasks lists only his own task", async () => {
    expect(await myTasks(shared, bob)).toEqual({ totalCount: 1, nodes: [{ id: bobId, prompt: "@1 bob's video" }] });
  });

  it("bob's delete attempt left alice's task in place", async () => {
    expect(await myTasks(shared, alice)).toEqual({ totalCount: 1, nodes: [{ id: aliceId, prompt: "@1 alice's video" }] });
  });

  it("the tenant's client key lists both users' tasks and reads each by the id its user got", async () => {
    const listed = await myTasks(shared, tenant);
    expect(listed.totalCount).toBe(2);
    expect(listed.nodes.map((node) => node.prompt).sort()).toEqual(["@1 alice's video", "@1 bob's video"]);
    // The key's own ids for them are signed for the tenant, so they differ from the users' ids.
    const tenantIds = new Map(listed.nodes.map((node) => [node.prompt, node.id]));
    expect(tenantIds.get("@1 alice's video")).not.toBe(aliceId);

    const byAliceId = await call(shared, READ_ALL_WAYS, { id: aliceId }, tenant);
    expect(byAliceId.errors).toBeUndefined();
    expect(byAliceId.data.task).toEqual({ id: tenantIds.get("@1 alice's video"), prompt: "@1 alice's video" });
    expect(byAliceId.data.tasks).toEqual([{ id: tenantIds.get("@1 alice's video") }]);
    expect(byAliceId.data.node).toEqual({ id: tenantIds.get("@1 alice's video") });
    const byBobId = await call(shared, 'query($id: ID!) { task(id: $id) { prompt } }', { id: bobId }, tenant);
    expect(byBobId.data.task).toEqual({ prompt: "@1 bob's video" });
  });

  it("a user cannot use the id the tenant's key got for their own task", async () => {
    const listed = await myTasks(shared, tenant);
    const tenantIdOfAlices = listed.nodes.find((node) => node.prompt === "@1 alice's video")?.id;
    expect(tenantIdOfAlices).toEqual(expect.any(String));
    const read = await call(shared, 'query($id: ID!) { task(id: $id) { id } }', { id: tenantIdOfAlices }, alice);
    expect(read.data).toEqual({ task: null });
  });
});

describe('ownership outlives a restart', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    // One simulator for both gateways, so the task still exists upstream after the restart.
    simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 120_000 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('a new gateway with the same secret and DATA_DIR: alice still reads her task, bob still does not', async () => {
    const dataDir = dataDirForThisTest();
    const env = { ...signInEnv(jwks, dataDir), DATA_DIR: dataDir, TASK_CACHE_MAX_ENTRIES: '0' };
    const startOnDataDir = () => {
      const config = gatewayConfigFor(simulator.url, env);
      return startGateway(config, createLogger(config));
    };
    const alice = as(await jwks.sign({ sub: 'alice' }));
    const bob = as(await jwks.sign({ sub: 'bob' }));

    const first = await startOnDataDir();
    let aliceId: string;
    try {
      aliceId = await createOk(first, alice, '@1 before the restart');
    } finally {
      await first.close();
    }

    const second = await startOnDataDir();
    try {
      const mine = await call(second, READ_ALL_WAYS, { id: aliceId }, alice);
      expect(mine.errors).toBeUndefined();
      expect(mine.data).toEqual({ task: { id: aliceId, prompt: '@1 before the restart' }, tasks: [{ id: aliceId }], node: { id: aliceId } });
      expect(await myTasks(second, alice)).toEqual({ totalCount: 1, nodes: [{ id: aliceId, prompt: '@1 before the restart' }] });

      simulator.resetStats();
      const theirs = await call(second, READ_ALL_WAYS, { id: aliceId }, bob);
      expect(theirs.data).toEqual({ task: null, tasks: [null], node: null });
      expect((await myTasks(second, bob)).totalCount).toBe(0);
      expect(simulator.stats().resultRequests).toBe(0);
    } finally {
      await second.close();
    }
  });
});

describe('refused tokens: one generic 401, the reason in the log only', () => {
  it('expired, bad signature, unknown issuer, wrong audience and alg none all answer the same 401 UNAUTHENTICATED', async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest()));
    const now = Math.floor(Date.now() / 1000);

    // The gateway accepts a good token: the refusals below are about the tokens, not the setup.
    const good = await jwks.sign({ sub: 'alice' });
    const accepted = await call(s, '{ myUsage { usedToday } }', {}, as(good));
    expect(accepted.status).toBe(200);
    expect(accepted.errors).toBeUndefined();

    const [header, payload, signature] = good.split('.') as [string, string, string];
    // A character in the middle of the signature: the bytes change whatever the base64url padding bits.
    const middle = Math.floor(signature.length / 2);
    const tampered = `${header}.${payload}.${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT', kid: jwks.currentKid() })}.${b64url({ iss: jwks.issuer, aud: jwks.audience, sub: 'alice', iat: now, exp: now + 300 })}.`;
    const refusedTokens: [string, string][] = [
      ['expired', await jwks.sign({ sub: 'alice', iat: now - 7200, exp: now - 3600 })],
      ['bad signature', tampered],
      ['unknown issuer', await jwks.sign({ sub: 'alice', iss: 'https://issuer.elsewhere.test/' })],
      ['wrong audience', await jwks.sign({ sub: 'alice', aud: 'https://another-api.test/' })],
      ['alg none', unsigned],
    ];

    const noCredential = await call(s, '{ myUsage { usedToday } }');
    expect(noCredential.status).toBe(401);
    const genericMessage = noCredential.errors?.[0]?.message;
    expect(genericMessage).toEqual(expect.any(String));

    s.simulator.resetStats();
    for (const [name, token] of refusedTokens) {
      const answer = await call(s, '{ myUsage { usedToday } }', {}, as(token));
      expect(answer.status, name).toBe(401);
      expect(answer.data, name).toBeUndefined();
      expect(answer.errors, name).toEqual([{ message: genericMessage, extensions: { code: 'UNAUTHENTICATED' } }]);
      const created = await call(s, CREATE, { input: videoInput('@1 never sent') }, as(token));
      expect(created.status, name).toBe(401);
    }
    expect(s.simulator.stats().createRequests).toBe(0);

    // Told apart only in the log, in the order sent (each token twice: the read and the create).
    expect(refusalReasons(s)).toEqual(
      ['EXPIRED', 'BAD_SIGNATURE', 'UNKNOWN_ISSUER', 'BAD_AUDIENCE', 'ALGORITHM_REFUSED'].flatMap((reason) => [reason, reason]),
    );
    const logs = s.logs.text();
    for (const [name, token] of [['good', good] as [string, string], ...refusedTokens]) {
      expect(logs, name).not.toContain(token);
      for (const part of token.split('.').filter((segment) => segment.length >= 16)) expect(logs, `${name}: a part of the token`).not.toContain(part);
    }
  });

  it('a key set that cannot be reached: the same 401, JWKS_UNAVAILABLE in the log', async () => {
    // A provider of its own that is down before the gateway first asks it: nothing can be cached.
    const downProvider = await startJwksServer();
    try {
      downProvider.setDown(true);
      const s = await stack(signInEnv(downProvider, dataDirForThisTest()));
      const token = await downProvider.sign({ sub: 'alice' });
      const noCredential = await call(s, '{ myUsage { usedToday } }');
      const answer = await call(s, '{ myUsage { usedToday } }', {}, as(token));
      expect(answer.status).toBe(401);
      expect(answer.errors).toEqual([{ message: noCredential.errors?.[0]?.message, extensions: { code: 'UNAUTHENTICATED' } }]);
      expect(downProvider.requests).toBeGreaterThanOrEqual(1);
      expect(refusalReasons(s)).toEqual(['JWKS_UNAVAILABLE']);
      expect(s.logs.text()).not.toContain(token);
    } finally {
      await downProvider.close();
    }
  });
});

describe('WebSocket: the token in connectionParams', () => {
  it('runs taskUpdates as alice to its end; a bad token closes the socket with 4401', async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest()), { taskDurationMs: 1500 });
    const aliceBearer = await jwks.sign({ sub: 'alice' });
    const id = await createOk(s, as(aliceBearer), '@1 streams');
    const results = await updatesOverWs(s, aliceBearer, id);
    expect(results.length).toBeGreaterThanOrEqual(1);
    for (const result of results) expect(result.errors).toBeUndefined();
    expect(results.every((result) => result.data?.taskUpdates.id === id)).toBe(true);
    expect(results.at(-1)?.data?.taskUpdates.status).toBe('SUCCEEDED');

    const now = Math.floor(Date.now() / 1000);
    const expired = await jwks.sign({ sub: 'alice', iat: now - 7200, exp: now - 3600 });
    const client = wsClientFor(s, expired);
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: UPDATES, variables: { id } }, { next: () => {}, error: resolve, complete: () => resolve('completed') });
    });
    await client.dispose();
    expect(outcome).toMatchObject({ code: 4401, reason: 'UNAUTHENTICATED' });
    expect(refusalReasons(s)).toEqual(['EXPIRED']);
  });

  it('closes a signed-in socket with 4401 when its token expires, and not before', async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest(), { AUTH_JWT_CLOCK_TOLERANCE_SECONDS: '0' }), { taskDurationMs: 60_000 });
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await jwks.sign({ sub: 'alice', iat: now, exp: now + 3 });
    const id = await createOk(s, as(shortLived), '@1 waits');
    const client = wsClientFor(s, shortLived);
    const opened = Date.now();
    const events: unknown[] = [];
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: UPDATES, variables: { id } }, { next: (value) => void events.push(value), error: resolve, complete: () => resolve('completed') });
    });
    const closedAfterMs = Date.now() - opened;
    await client.dispose();
    // The subscription ran (its first event came) until the token's expiry ended the session.
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(outcome).toMatchObject({ code: 4401, reason: 'UNAUTHENTICATED' });
    expect(closedAfterMs).toBeGreaterThan(1000);
    expect(closedAfterMs).toBeLessThan(15_000);
  });
});

describe('signing keys rotated under a running gateway', () => {
  it('a token with the new key is accepted after one refetch of the key set; the removed key is refused', { timeout: 30_000 }, async () => {
    const provider = await startJwksServer();
    try {
      // The refetch floor is 30 s by default; 2 s here keeps the test short, and proves the setting.
      const s = await stack(signInEnv(provider, dataDirForThisTest(), { AUTH_JWKS_REFETCH_FLOOR_MS: '2000' }));
      const oldKeyToken = await provider.sign({ sub: 'alice' });
      expect((await call(s, MY_USAGE, {}, as(oldKeyToken))).status).toBe(200);
      expect(provider.requests).toBe(1);

      await provider.rotate();
      const newKeyToken = await provider.sign({ sub: 'alice' });
      // The verifier refetches a key set for an unknown kid at most once per floor (2 s after the
      // last fetch here), so the new key is taken up within that; meanwhile no request reaches the
      // provider however often the new token is presented.
      const started = Date.now();
      await expect
        .poll(async () => (await call(s, MY_USAGE, {}, as(newKeyToken))).status, { timeout: 20_000, interval: 250 })
        .toBe(200);
      expect(Date.now() - started).toBeLessThan(15_000);
      console.info(`end-users: the rotated key was accepted after ${Math.round((Date.now() - started) / 100) / 10} s`);
      expect(provider.requests).toBe(2);

      const refused = await call(s, MY_USAGE, {}, as(oldKeyToken));
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(refusalReasons(s).at(-1)).toBe('UNKNOWN_KEY');
      // The old key's token cost no fetch either: the set was just fetched.
      expect(provider.requests).toBe(2);
    } finally {
      await provider.close();
    }
  });
});

describe('credit budgets', () => {
  it("per user: a user's limit refuses without an upstream call, myUsage reports it, a refusal refunds, a replay is free", async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest(), { BUDGET_USER_DAILY_UNITS: '10' }), { taskDurationMs: 120_000 });
    const alice = as(await jwks.sign({ sub: 'alice' }));
    const bob = as(await jwks.sign({ sub: 'bob' }));
    const carol = as(await jwks.sign({ sub: 'carol' }));
    const tenant = as(SHOP_KEY);
    const tenUnits = { durationSeconds: 5, resolution: 'RES_720P' } as const; // 5 s × 2 = 10 units

    // Alice spends her whole day's budget in one create, sent with an Idempotency-Key.
    const first = await call(s, CREATE, { input: videoInput('@1 alice spends it all', tenUnits) }, { ...alice, 'idempotency-key': 'alice-first' });
    expect(first.errors).toBeUndefined();
    expect(first.data.createReferenceVideo.userErrors).toEqual([]);
    const aliceId = first.data.createReferenceVideo.taskId as string;
    expect(aliceId).toEqual(expect.any(String));
    expect(s.simulator.stats().createRequests).toBe(1);

    // The next one is refused before the upstream is called.
    const before = new Date();
    const refused = await create(s, alice, '@1 one too many', { durationSeconds: 1, resolution: 'RES_540P' });
    const after = new Date();
    expect(refused.taskId).toBeNull();
    expect(refused.userErrors).toHaveLength(1);
    expect(refused.userErrors[0]).toMatchObject({ field: null, code: 'BUDGET_EXCEEDED' });
    const resetTimes = [nextMidnightUtc(before), nextMidnightUtc(after)];
    expect(refused.userErrors[0]?.message).toMatch(/daily limit \(USER_DAILY\) of 10\b/);
    expect(resetTimes.some((time) => refused.userErrors[0]?.message.includes(time))).toBe(true);
    expect(s.simulator.stats().createRequests).toBe(1);

    const aliceUsage = await myUsage(s, alice);
    expect(aliceUsage).toMatchObject({ usedToday: 10, dailyLimit: 10 });
    expect(resetTimes.map((time) => Date.parse(time))).toContain(Date.parse(aliceUsage.resetsAt));

    // Her first request again, same key and input: the same task, at no cost, though her budget is spent.
    const replay = await call(s, CREATE, { input: videoInput('@1 alice spends it all', tenUnits) }, { ...alice, 'idempotency-key': 'alice-first' });
    expect(replay.errors).toBeUndefined();
    expect(replay.data.createReferenceVideo).toMatchObject({ taskId: aliceId, userErrors: [] });
    expect(s.simulator.stats().createRequests).toBe(1);
    expect((await myUsage(s, alice)).usedToday).toBe(10);

    // Bob's budget is his own.
    await createOk(s, bob, '@1 bob still can', tenUnits);
    expect(await myUsage(s, bob)).toMatchObject({ usedToday: 10, dailyLimit: 10 });
    expect(s.simulator.stats().createRequests).toBe(2);

    // A create the upstream refuses gives its units back.
    s.simulator.injectFault({ endpoint: 'create', kind: 'error', status: 400, reason: 'INVALID_REQUEST_BODY' });
    const upstreamRefused = await create(s, carol, '@1 refused upstream', tenUnits);
    expect(upstreamRefused.taskId).toBeNull();
    expect(upstreamRefused.userErrors.map((error) => error.code)).toEqual(['INVALID_INPUT']);
    expect(s.simulator.stats().createRequests).toBe(3);
    expect((await myUsage(s, carol)).usedToday).toBe(0);
    // ...so her whole budget is still there.
    await createOk(s, carol, '@1 carol after the refusal', tenUnits);
    expect((await myUsage(s, carol)).usedToday).toBe(10);

    // The client key sees the tenant's total; no tenant limit is set.
    const tenantUsage = await myUsage(s, tenant);
    expect(tenantUsage).toMatchObject({ usedToday: 30, dailyLimit: null });
    expect(Date.parse(tenantUsage.resetsAt)).toBe(Date.parse(aliceUsage.resetsAt));
  });

  it('twenty creates racing for the last 10 units of the tenant never overspend (one gateway)', async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest(), { BUDGET_TENANT_DAILY_UNITS: '10' }), { taskDurationMs: 120_000 });
    // Each create waits upstream a little, so all twenty are in flight at once.
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 200, times: 20 });
    const callers = await racingCallers(jwks);
    const payloads = await Promise.all(callers.map((headers, index) => create(s, headers, `@1 racer ${index}`, { durationSeconds: 1, resolution: 'RES_540P' })));
    expectTenWinners(payloads);
    expect(s.simulator.stats().createRequests).toBe(10);
    expect(await myUsage(s, as(SHOP_KEY))).toMatchObject({ usedToday: 10, dailyLimit: 10 });
  });

  describe.runIf(redisRuns)('on Redis, across two gateways', () => {
    let simulator: Simulator;
    beforeAll(async () => {
      simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 120_000 });
    });
    afterAll(async () => {
      await simulator.close();
    });

    it('twenty creates racing for 10 units over two replicas sharing Redis: exactly 10 are sent', async () => {
      const prefix = testKeyPrefix();
      const env = {
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        BUDGET_TENANT_DAILY_UNITS: '10',
        TASK_CACHE_MAX_ENTRIES: '0',
        CREATE_RATE_LIMIT_BURST: '10000',
        CREATE_RATE_LIMIT_PER_MINUTE: '10000',
        CREATE_MAX_CONCURRENT: '1000',
        CREATE_MAX_CONCURRENT_PER_TENANT: '1000',
      };
      const replicas: RunningGateway[] = [];
      try {
        for (let i = 0; i < 2; i += 1) {
          const dataDir = dataDirForThisTest();
          const config = gatewayConfigFor(simulator.url, { ...signInEnv(jwks, dataDir), DATA_DIR: dataDir, ...env });
          replicas.push(await startGateway(config, createLogger(config)));
        }
        for (const replica of replicas) await expect.poll(async () => (await fetch(`${replica.url}/ready`)).status, { timeout: 5000 }).toBe(200);
        simulator.resetStats();
        simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 200, times: 20 });
        const callers = await racingCallers(jwks);
        const payloads = await Promise.all(
          callers.map((headers, index) => create(replicas[index % 2]!, headers, `@1 racer ${index}`, { durationSeconds: 1, resolution: 'RES_540P' })),
        );
        expectTenWinners(payloads);
        expect(simulator.stats().createRequests).toBe(10);
        for (const replica of replicas) expect(await myUsage(replica, as(SHOP_KEY))).toMatchObject({ usedToday: 10, dailyLimit: 10 });
      } finally {
        await Promise.all(replicas.map((replica) => replica.close()));
        simulator.clearFaults();
      }
    });
  });
});

/** Twenty callers of the shop, half its client key and half ten different signed-in users, interleaved. */
async function racingCallers(provider: JwksServer): Promise<Record<string, string>[]> {
  const callers: Record<string, string>[] = [];
  for (let i = 0; i < 10; i += 1) callers.push(as(SHOP_KEY), as(await provider.sign({ sub: `racer-${i}` })));
  return callers;
}

function expectTenWinners(payloads: { taskId: string | null; userErrors: { code: string }[] }[]): void {
  const won = payloads.filter((payload) => payload.taskId !== null && payload.userErrors.length === 0);
  const refused = payloads.filter((payload) => payload.taskId === null);
  expect(won).toHaveLength(10);
  expect(refused).toHaveLength(10);
  for (const payload of refused) expect(payload.userErrors.map((error) => error.code)).toEqual(['BUDGET_EXCEEDED']);
  expect(new Set(won.map((payload) => payload.taskId)).size).toBe(10);
}

describe('the per-user create rate, beside the tenant rate', () => {
  it("alice's third quick create is RATE_LIMITED; bob's first, and the tenant key's, still go through", async () => {
    const s = await stack(signInEnv(jwks, dataDirForThisTest(), { CREATE_USER_RATE_LIMIT_BURST: '2', CREATE_USER_RATE_LIMIT_PER_MINUTE: '1' }), {
      taskDurationMs: 120_000,
    });
    const alice = as(await jwks.sign({ sub: 'alice' }));
    const bob = as(await jwks.sign({ sub: 'bob' }));
    await createOk(s, alice, '@1 alice one');
    await createOk(s, alice, '@1 alice two');
    const third = await call(s, CREATE, { input: videoInput('@1 alice three') }, alice);
    expect(third.errors).toHaveLength(1);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(s.simulator.stats().createRequests).toBe(2);

    await createOk(s, bob, '@1 bob one');
    await createOk(s, as(SHOP_KEY), '@1 the tenant key');
    expect(s.simulator.stats().createRequests).toBe(4);
    expect((await myTasks(s, alice)).totalCount).toBe(2);
  });
});
