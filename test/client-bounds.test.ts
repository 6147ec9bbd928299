// What one client can hold or cost is bounded: connections, slow sockets, WebSocket frames,
// subscriptions and pollers, reads of unknown ids, abandoned reads, an operation's time, and a
// tenant's share of the create capacity. Real sockets against a real gateway and simulator.
import { connect, type Socket } from 'node:net';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, type Stack } from './support/stack.js';

const stacks: Stack[] = [];
const sockets: Socket[] = [];
const wsClients: Client[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(wsClients.splice(0).map((client) => client.dispose()));
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

async function stack(env: Record<string, string> = {}, taskDurationMs = 60_000): Promise<Stack> {
  const s = await startStack({ env, simulator: { taskDurationMs } });
  stacks.push(s);
  return s;
}

const KEY_A = 'k-tenant-a-0123456789abcdef';
const KEY_B = 'k-tenant-b-0123456789abcdef';
const KEYS = { GATEWAY_API_KEYS: `a:${KEY_A},b:${KEY_B}`, GATEWAY_ID_SECRET: 'test-id-secret-0123456789abcdef0123456789' };
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const INPUT = { prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
const SUBSCRIPTION = 'subscription($id: ID!) { taskUpdates(id: $id) { id status } }';

interface Answer {
  status: number;
  // any: response shapes differ per operation; the tests check them with expect().
  json: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(s: Stack, query: string, variables: Record<string, unknown>, key?: string, signal?: AbortSignal): Promise<Answer> {
  const response = await fetch(`${s.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
    ...(signal ? { signal } : {}),
  });
  return { status: response.status, json: (await response.json()) as Answer['json'] };
}

async function createTask(s: Stack, key?: string): Promise<string> {
  const { json } = await post(s, CREATE, { input: INPUT }, key);
  return json.data.createReferenceVideo.taskId as string;
}

function openSocket(s: Stack): Promise<Socket> {
  const { hostname, port } = new URL(s.gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
}

/** Resolves when the peer closes the socket, with how long that took. */
function closedWithin(socket: Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) resolve(0);
    socket.on('close', () => resolve(Date.now() - started));
    socket.on('end', () => resolve(Date.now() - started));
    socket.resume();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('connections', () => {
  it('past HTTP_MAX_CONNECTIONS a new connection is closed at once; served again once others close', async () => {
    const s = await stack({ HTTP_MAX_CONNECTIONS: '5' });
    const held = await Promise.all(Array.from({ length: 5 }, () => openSocket(s)));
    await sleep(100);
    const extra = await openSocket(s);
    expect(await closedWithin(extra)).toBeLessThan(2000);
    for (const socket of held) socket.destroy();
    await sleep(200);
    const { json } = await post(s, '{ __typename }', {});
    expect(json.data).toEqual({ __typename: 'Query' });
  });

  it('a socket that sends nothing is closed after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const s = await stack({ HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const idle = await openSocket(s);
    const ms = await closedWithin(idle);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(6000);
  });

  it('an authenticated slow body is cut after HTTP_REQUEST_TIMEOUT_MS with 408', async () => {
    const s = await stack({ ...KEYS, HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
    const socket = await openSocket(s);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.write(`POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${KEY_A}\r\ncontent-length: 100000\r\n\r\n{`);
    const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
    const ms = await closedWithin(socket);
    clearInterval(trickle);
    expect(ms).toBeLessThan(8000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('WebSocket frames', () => {
  const wsUrl = (s: Stack) => `${s.gateway.url.replace('http', 'ws')}/graphql`;

  function closeCode(socket: WebSocket): Promise<number> {
    return new Promise((resolve) => socket.on('close', (code) => resolve(code)));
  }

  it('before authentication only small frames: a 1 MB connection_init is refused with 1009', async () => {
    const s = await stack(KEYS);
    const socket = new WebSocket(wsUrl(s), 'graphql-transport-ws');
    await new Promise((resolve) => socket.on('open', resolve));
    const closed = closeCode(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${KEY_A}`, pad: 'x'.repeat(1024 * 1024) } }));
    expect(await closed).toBe(1009);
  });

  it('with the key on the upgrade, frames up to WS_MAX_PAYLOAD_BYTES pass and bigger ones are refused', async () => {
    const s = await stack({ ...KEYS, WS_MAX_PAYLOAD_BYTES: '200000' });
    const client = createWsClient({ url: wsUrl(s), webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { authorization: `Bearer ${KEY_A}` } });
      }
    }, retryAttempts: 0, lazy: false });
    wsClients.push(client);
    // ~90 KB: over the unauthenticated limit (64 KiB), under WS_MAX_PAYLOAD_BYTES and GRAPHQL_MAX_QUERY_CHARS.
    const padded = `{ __typename } ${'#'.repeat(90_000)}\n`;
    const result = await new Promise((resolve, reject) => client.subscribe({ query: padded }, { next: resolve, error: reject, complete: () => {} }));
    expect(result).toEqual({ data: { __typename: 'Query' } });

    const raw = new WebSocket(wsUrl(s), 'graphql-transport-ws', { headers: { authorization: `Bearer ${KEY_A}` } });
    await new Promise((resolve) => raw.on('open', resolve));
    const closed = closeCode(raw);
    raw.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(300_000) } }));
    expect(await closed).toBe(1009);
  });

  it('an upgrade on any other path is refused', async () => {
    const s = await stack();
    const socket = new WebSocket(`${s.gateway.url.replace('http', 'ws')}/graphql/`, 'graphql-transport-ws');
    const failed = await new Promise<string>((resolve) => {
      socket.on('error', (error) => resolve(error.message));
      socket.on('open', () => resolve('opened'));
    });
    expect(failed).toMatch(/404/);
  });
});

interface SubscriptionOutcome {
  errors?: readonly { extensions?: Record<string, unknown> }[] | undefined;
  data?: unknown;
}

/** The first thing a subscription yields (an event, or its error). */
function firstOf(client: Client, id: string): Promise<SubscriptionOutcome> {
  return new Promise((resolve) => {
    client.subscribe(
      { query: SUBSCRIPTION, variables: { id } },
      {
        next: (value) => resolve(value as SubscriptionOutcome),
        error: (errors) => resolve({ errors: errors as SubscriptionOutcome['errors'] }),
        complete: () => {},
      },
    );
  });
}

describe('subscriptions and pollers', () => {
  const client = (s: Stack, key?: string) => {
    const c = createWsClient({
      url: `${s.gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      ...(key ? { connectionParams: { authorization: `Bearer ${key}` } } : {}),
    });
    wsClients.push(c);
    return c;
  };

  it('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: the next one on that connection gets TOO_MANY_SUBSCRIPTIONS, another connection is fine', async () => {
    const s = await stack({ LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const id = await createTask(s);
    const first = client(s);
    expect((await firstOf(first, id)).data).toBeTruthy();
    expect((await firstOf(first, id)).data).toBeTruthy();
    const third = await firstOf(first, id);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'connection', limit: 2 });
    expect((await firstOf(client(s), id)).data).toBeTruthy();
  });

  it('LIVE_MAX_SUBSCRIPTIONS_PER_TENANT counts across connections and SSE; another tenant is unaffected', async () => {
    const s = await stack({ ...KEYS, LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: '3' });
    const id = await createTask(s, KEY_A);
    for (let i = 0; i < 2; i++) expect((await firstOf(client(s, KEY_A), id)).data).toBeTruthy();
    const sse = new AbortController();
    const stream = await fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${KEY_A}` },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { id } }),
      signal: sse.signal,
    });
    const reader = stream.body!.getReader();
    let seen = '';
    while (!seen.includes('"status"')) seen += new TextDecoder().decode((await reader.read()).value);
    const fourth = await firstOf(client(s, KEY_A), id);
    expect(fourth.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'tenant', limit: 3 });
    const otherId = await createTask(s, KEY_B);
    expect((await firstOf(client(s, KEY_B), otherId)).data).toBeTruthy();
    // Leaving frees the slot.
    sse.abort();
    await sleep(300);
    expect((await firstOf(client(s, KEY_A), id)).data).toBeTruthy();
  });

  it('LIVE_MAX_POLLERS_PER_TENANT bounds the distinct tasks one tenant has polled', async () => {
    const s = await stack({ ...KEYS, LIVE_MAX_POLLERS_PER_TENANT: '2' });
    const ids = [await createTask(s, KEY_A), await createTask(s, KEY_A), await createTask(s, KEY_A)];
    const c = client(s, KEY_A);
    expect((await firstOf(c, ids[0]!)).data).toBeTruthy();
    expect((await firstOf(c, ids[1]!)).data).toBeTruthy();
    expect((await firstOf(c, ids[1]!)).data).toBeTruthy(); // same task again: no new poller
    const third = await firstOf(c, ids[2]!);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'tasks', limit: 2 });
    expect(s.gateway.live.activePollers).toBe(2);
  });

  it('on an open gateway, random ids cost upstream reads only up to TASK_UNKNOWN_ID_READS_BURST', async () => {
    const s = await stack({ TASK_UNKNOWN_ID_READS_BURST: '5', TASK_UNKNOWN_ID_READS_PER_MINUTE: '1', TASK_CACHE_MAX_ENTRIES: '1000' });
    const known = await createTask(s);
    await post(s, 'query($id: ID!) { task(id: $id) { id } }', { id: known }); // seen to exist from here on
    s.simulator.resetStats();
    const ids = Array.from({ length: 50 }, (_, i) => `random-${i}`);
    const { json } = await post(s, 'query($ids: [ID!]!) { tasks(ids: $ids) { id } }', { ids });
    expect(s.simulator.stats().resultRequests).toBe(5);
    const codes = (json.errors ?? []).map((error) => error.extensions?.code);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(45);
    // A subscription to a random id is refused the same way; a known task is still read.
    const refused = await firstOf(client(s), 'random-other');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    const again = await post(s, 'query($id: ID!) { task(id: $id) { id } }', { id: known });
    expect(again.json.data.task.id).toBe(known);
  });
});

describe('abandoned reads and deadlines', () => {
  it('an upstream read that no client waits for any more stops retrying', async () => {
    const s = await stack({ UPSTREAM_READ_RETRIES: '10', UPSTREAM_RETRY_BASE_DELAY_MS: '150', UPSTREAM_RETRY_MAX_DELAY_MS: '150' });
    const id = await createTask(s);
    s.simulator.resetStats();
    s.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503, times: 100 });
    const leaving = new AbortController();
    const reads = Array.from({ length: 5 }, () => post(s, 'query($id: ID!) { task(id: $id) { id } }', { id }, undefined, leaving.signal).catch(() => 'aborted'));
    await sleep(250);
    leaving.abort();
    expect(await Promise.all(reads)).toEqual(Array(5).fill('aborted'));
    const afterAbort = s.simulator.stats().resultRequests;
    await sleep(1500);
    // Without abandonment the shared read would go on retrying ~10 more times.
    expect(s.simulator.stats().resultRequests - afterAbort).toBeLessThanOrEqual(1);
  });

  it('a hung upstream answers UPSTREAM_TIMEOUT by OPERATION_DEADLINE_MS, for reads and creates', async () => {
    const s = await stack({ OPERATION_DEADLINE_MS: '1500', UPSTREAM_DEADLINE_MS: '60000', UPSTREAM_TIMEOUT_MS: '30000' });
    const id = await createTask(s);
    s.simulator.injectFault({ endpoint: 'any', kind: 'pass', delayMs: 20_000, times: 10 });
    let started = Date.now();
    const read = await post(s, 'query($id: ID!) { task(id: $id) { id } }', { id });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(read.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    started = Date.now();
    const created = await post(s, CREATE, { input: INPUT });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(created.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
  });
});

describe('readiness', () => {
  it('/ready reports degraded while the upstream keeps timing out', async () => {
    const s = await stack({ UPSTREAM_DEADLINE_MS: '700', UPSTREAM_READ_RETRIES: '0', UPSTREAM_DEGRADED_AFTER_TIMEOUTS: '2' });
    const id = await createTask(s);
    expect((await fetch(`${s.gateway.url}/ready`)).status).toBe(200);
    s.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 10_000, times: 2 });
    for (let i = 0; i < 2; i++) {
      const { json } = await post(s, 'query($id: ID!) { task(id: $id) { id } }', { id });
      expect(json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    }
    expect((await fetch(`${s.gateway.url}/ready`)).status).toBe(503);
    expect((await fetch(`${s.gateway.url}/health`)).status).toBe(200);
  });
});

describe('fairness', () => {
  it("one tenant's slow creates cannot take another tenant's create capacity", async () => {
    const s = await stack({ ...KEYS, CREATE_MAX_CONCURRENT: '4', CREATE_MAX_CONCURRENT_PER_TENANT: '2' });
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 1500, times: 3 });
    const fromA = Array.from({ length: 3 }, () => post(s, CREATE, { input: INPUT }, KEY_A));
    await sleep(300);
    const fromB = await post(s, CREATE, { input: INPUT }, KEY_B);
    expect(fromB.json.errors).toBeUndefined();
    expect(fromB.json.data.createReferenceVideo.taskId).toEqual(expect.any(String));
    const answersA = await Promise.all(fromA);
    const limited = answersA.filter((answer) => answer.json.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(limited).toHaveLength(1);
  });
});
