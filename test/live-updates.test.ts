// taskUpdates over real SSE (graphql-sse client) and real WebSocket (graphql-ws client), the shared
// poller per task, and the status-aware cache for queries.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, type Stack } from './support/stack.js';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function stack(env: Record<string, string> = {}, taskDurationMs = 1500): Promise<Stack> {
  const started = await startStack({
    simulator: { taskDurationMs },
    env: { LIVE_POLL_MIN_INTERVAL_MS: '150', LIVE_POLL_MAX_INTERVAL_MS: '300', LIVE_POLL_JITTER_PERCENT: '0', TASK_CACHE_PENDING_TTL_MS: '100', TASK_CACHE_MAX_ENTRIES: '1000', ...env },
  });
  stacks.push(started);
  return started;
}

const SUBSCRIPTION = 'subscription Updates($id: ID!) { taskUpdates(id: $id) { id status progressPercent etaSeconds failureReason isTerminal videos { url } } }';
const input = (prompt = '@1 dances') => ({ prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] });

async function createTask(s: Stack, prompt?: string): Promise<string> {
  const { body } = await s.graphql('mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }', { input: input(prompt) });
  return body.data.createReferenceVideo.taskId as string;
}

interface Result {
  data?: { taskUpdates: { status: string; progressPercent: number | null; failureReason: string | null; isTerminal: boolean; videos: { url: string }[] } } | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

async function collectSse(s: Stack, id: string): Promise<Result[]> {
  const client = createSseClient({ url: `${s.gateway.url}/graphql`, singleConnection: false, retryAttempts: 0 });
  const results: Result[] = [];
  for await (const result of client.iterate({ query: SUBSCRIPTION, variables: { id } })) results.push(result as Result);
  client.dispose();
  return results;
}

async function collectWs(s: Stack, id: string): Promise<Result[]> {
  const client = createWsClient({ url: `${s.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const results: Result[] = [];
  try {
    for await (const result of client.iterate({ query: SUBSCRIPTION, variables: { id } })) results.push(result as Result);
  } finally {
    await client.dispose();
  }
  return results;
}

/** A bare SSE request, for what the client libraries hide: headers, pings, hanging up. */
function openRawSse(s: Stack, id: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${s.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { id } }),
    signal,
  });
}

function statuses(results: Result[]): string[] {
  return results.map((r) => r.data?.taskUpdates.status ?? 'ERROR').filter((status, i, all) => status !== all[i - 1]);
}

describe.each([
  ['SSE (graphql-sse, distinct connections)', collectSse],
  ['WebSocket (graphql-ws)', collectWs],
])('taskUpdates over %s', (_transport, collect) => {
  it('emits QUEUED → PROCESSING → SUCCEEDED with rising progress, then completes', async () => {
    // Long enough to stay QUEUED (15 %: 1.2 s) until the subscription is open, even while another
    // test file drives Chromium on the same two cores (600 ms was once not enough in CI).
    const s = await stack({}, 8000);
    const id = await createTask(s);
    const results = await collect(s, id);
    expect(statuses(results)).toEqual(['QUEUED', 'PROCESSING', 'SUCCEEDED']);
    const progress = results.map((r) => r.data?.taskUpdates.progressPercent ?? 0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const last = results.at(-1)?.data?.taskUpdates;
    expect(last).toMatchObject({ status: 'SUCCEEDED', isTerminal: true, progressPercent: 100 });
    expect(last?.videos).toHaveLength(1);
    expect(s.gateway.live.activePollers).toBe(0);
  });

  it('ends a FAILED task\'s stream with its reason', async () => {
    const s = await stack();
    const id = await createTask(s, '@1 trips [sim:fail]');
    const results = await collect(s, id);
    expect(results.at(-1)?.data?.taskUpdates).toMatchObject({ status: 'FAILED', isTerminal: true });
    expect(results.at(-1)?.data?.taskUpdates.failureReason).toMatch(/simulated failure/);
  });

  it('answers an unknown id with TASK_NOT_FOUND and completes', async () => {
    const s = await stack();
    const results = await collect(s, 'no-such-task');
    expect(results).toHaveLength(1);
    expect(results[0]?.errors?.[0]?.extensions?.code).toBe('TASK_NOT_FOUND');
    expect(s.gateway.live.activePollers).toBe(0);
  });
});

describe('the shared poller', () => {
  it('50 concurrent subscribers (SSE and WebSocket) cause one upstream read per poll interval', async () => {
    const s = await stack({}, 2000);
    const id = await createTask(s);
    s.simulator.resetStats();
    const started = Date.now();
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? collectSse(s, id) : collectWs(s, id))));
    const elapsed = Date.now() - started;
    for (const results of all) expect(results.at(-1)?.data?.taskUpdates.status).toBe('SUCCEEDED');
    // Polls are at least 150 ms apart (no jitter here): one poller, whatever the number of watchers.
    const reads = s.simulator.stats().resultRequests;
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / 150) + 1);
  });

  it('a transient upstream failure does not end the stream', async () => {
    const s = await stack({ UPSTREAM_READ_RETRIES: '0', LIVE_MAX_CONSECUTIVE_FAILURES: '3' });
    const id = await createTask(s);
    const client = createSseClient({ url: `${s.gateway.url}/graphql`, retryAttempts: 0 });
    const results: Result[] = [];
    let injected = false;
    for await (const result of client.iterate({ query: SUBSCRIPTION, variables: { id } })) {
      results.push(result as Result);
      if (!injected) {
        injected = true;
        s.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503, times: 2 });
      }
    }
    client.dispose();
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(results.at(-1)?.data?.taskUpdates.status).toBe('SUCCEEDED');
  });

  it('after the configured number of consecutive failures emits the mapped error and completes', async () => {
    const s = await stack({ UPSTREAM_READ_RETRIES: '0', LIVE_MAX_CONSECUTIVE_FAILURES: '3' }, 60_000);
    const id = await createTask(s);
    s.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503, times: 100 });
    const results = await collectSse(s, id);
    expect(results.at(-1)?.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(s.gateway.live.activePollers).toBe(0);
  });

  it('a client that disconnects stops the poller and its upstream reads', async () => {
    const s = await stack({}, 60_000);
    const id = await createTask(s);
    const client = createWsClient({ url: `${s.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const iterator = client.iterate({ query: SUBSCRIPTION, variables: { id } });
    const first = await iterator.next();
    expect((first.value as Result).data?.taskUpdates.status).toBe('QUEUED');
    expect(s.gateway.live.activePollers).toBe(1);
    await client.dispose();
    await expect.poll(() => s.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
    const readsAfterLeave = s.simulator.stats().resultRequests;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(s.simulator.stats().resultRequests).toBe(readsAfterLeave);
  });

  it('an SSE client that disconnects stops the poller too', async () => {
    const s = await stack({}, 60_000);
    const id = await createTask(s);
    const controller = new AbortController();
    const response = await openRawSse(s, id, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    expect(s.gateway.live.activeWatchers).toBe(1);
    controller.abort();
    await expect.poll(() => s.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
  });

  it('SSE responses carry X-Accel-Buffering: no and keep-alive pings', async () => {
    const s = await stack({}, 60_000);
    const id = await createTask(s);
    const controller = new AbortController();
    const response = await openRawSse(s, id, controller.signal);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const reader = response.body!.getReader();
    let text = '';
    const until = Date.now() + 1500;
    // Yoga pings every 300 ms under NODE_ENV=test (12 s otherwise): look for a ping after the first event.
    while (Date.now() < until && !/event: next[\s\S]*\n:\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toMatch(/event: next[\s\S]*\n:\n/);
  });
});

describe('status-aware caching for queries', () => {
  const READ = 'query($id: ID!) { task(id: $id) { id status } }';

  it('serves a terminal result from cache with no upstream call', async () => {
    const s = await stack();
    await s.graphql(READ, { id: 'demo-succeeded' });
    await s.graphql(READ, { id: 'demo-failed' });
    s.simulator.resetStats();
    for (let i = 0; i < 5; i++) {
      const { body } = await s.graphql('{ a: task(id: "demo-succeeded") { status } b: task(id: "demo-failed") { status } }');
      expect(body.data).toEqual({ a: { status: 'SUCCEEDED' }, b: { status: 'FAILED' } });
    }
    expect(s.simulator.stats().resultRequests).toBe(0);
  });

  it('never serves a pending result staler than TASK_CACHE_PENDING_TTL_MS', async () => {
    const s = await stack({ TASK_CACHE_PENDING_TTL_MS: '150' }, 60_000);
    const id = await createTask(s); // the create payload is not read, so the cache is empty
    s.simulator.resetStats();
    await s.graphql(READ, { id });
    await s.graphql(READ, { id });
    expect(s.simulator.stats().resultRequests).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await s.graphql(READ, { id });
    expect(s.simulator.stats().resultRequests).toBe(2);
  });

  it('concurrent reads of one task share one upstream call (single-flight)', async () => {
    const s = await stack({ TASK_CACHE_MAX_ENTRIES: '0' }, 60_000);
    const id = await createTask(s);
    s.simulator.resetStats();
    s.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 300 });
    const results = await Promise.all(Array.from({ length: 20 }, () => s.graphql(READ, { id })));
    for (const { body } of results) expect(body.data.task.id).toBe(id);
    expect(s.simulator.stats().resultRequests).toBe(1);
  });

  it('one client leaving does not fail the others waiting on the same read', async () => {
    const s = await stack({ TASK_CACHE_MAX_ENTRIES: '0' }, 60_000);
    const id = await createTask(s);
    s.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 400 });
    const leaving = new AbortController();
    const first = fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: READ, variables: { id } }),
      signal: leaving.signal,
    }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = s.graphql(READ, { id });
    leaving.abort();
    expect(await first).toBe('aborted');
    const { body } = await second;
    expect(body.errors).toBeUndefined();
    expect(body.data.task.id).toBe(id);
  });
});

describe('response cache (early answers for repeated queries)', () => {
  const READ = 'query($id: ID!) { task(id: $id) { id status } }';

  it('does not reuse a response that holds an unknown task', async () => {
    const s = await stack();
    s.simulator.resetStats();
    for (let i = 0; i < 3; i++) expect((await s.graphql(READ, { id: 'nope' })).body.data.task).toBeNull();
    expect(s.simulator.stats().resultRequests).toBe(3);
  });

  it('answers a repeated terminal query without an upstream call, and a new variable is a new entry', async () => {
    const s = await stack();
    await s.graphql(READ, { id: 'demo-succeeded' });
    s.simulator.resetStats();
    const again = await s.graphql(READ, { id: 'demo-succeeded' });
    expect(again.body.data.task.status).toBe('SUCCEEDED');
    expect(s.simulator.stats().resultRequests).toBe(0);
    await s.graphql(READ, { id: 'demo-failed' });
    expect(s.simulator.stats().resultRequests).toBe(1);
  });
});

describe('the HTTP layer in front of Yoga', () => {
  it('answers a query asked over SSE as an event stream every time, never from the JSON cache', async () => {
    const s = await stack();
    const ask = async () => {
      const response = await fetch(`${s.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: '{ task(id: "demo-succeeded") { status } }' }),
      });
      return { type: response.headers.get('content-type'), text: await response.text() };
    };
    for (let i = 0; i < 2; i++) {
      const { type, text } = await ask();
      expect(type).toMatch(/^text\/event-stream/);
      expect(text).toContain('event: next');
    }
  });

  it('refuses a request body over REQUEST_MAX_BODY_BYTES with 413, before Yoga sees it', async () => {
    const s = await stack({ REQUEST_MAX_BODY_BYTES: '2048' });
    const response = await fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(4096) } }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 413 to a streamed (chunked) body over the limit too', async () => {
    const s = await stack({ REQUEST_MAX_BODY_BYTES: '2048' });
    const chunk = new TextEncoder().encode(`{"query":"{ __typename }","pad":"${'x'.repeat(3000)}"}`);
    const response = await fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(response.status).toBe(413);
  });

  it('keeps content negotiation: a repeat with another Accept header is answered in its own format', async () => {
    const s = await stack();
    const ask = async (accept: string) =>
      (await fetch(`${s.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query: '{ task(id: "demo-failed") { status } }' }) })).headers.get('content-type');
    expect(await ask('application/graphql-response+json')).toMatch(/^application\/graphql-response\+json/);
    expect(await ask('application/graphql-response+json')).toMatch(/^application\/graphql-response\+json/);
    expect(await ask('application/json')).toMatch(/^application\/json/);
  });
});
