// The graphql-sse client in both of its modes, against /graphql: distinct connections (one SSE
// request per operation, served by Yoga's own SSE) and `singleConnection: true` (PUT reserves a
// stream, GET opens it, each operation is a POST answered 202, DELETE stops one; served by
// @graphql-yoga/plugin-graphql-sse behind src/plugins/use-graphql-sse-single-connection.ts).
// Then the single-connection protocol with a bare fetch: ownership, bounds, codes, CORS, shutdown.
import { createClient, NetworkError, type Client, type ClientOptions, type ExecutionResult } from 'graphql-sse';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, useStack, type Stack } from '../support/stack.js';
import {
  CLIENT_KEY,
  CREATE_VIDEO,
  KEYED_GATEWAY,
  OPEN_GATEWAY,
  READ_TASK,
  WATCH_TASK,
  createTask,
  expectStreamedToSuccess,
  graphqlUrl,
  observe,
  videoInput,
  type CodedError,
  type TaskUpdate,
} from './support.js';

type WatchResult = ExecutionResult<{ taskUpdates: TaskUpdate }, unknown>;
const TOKEN_HEADER = 'x-graphql-event-stream-token';

/** What went over the wire: each request's method and status, and the body of every refusal. */
interface Wire {
  fetch: typeof fetch;
  requests: string[];
  refusals: { status: number; body: { errors?: CodedError[] } }[];
}

/**
 * The global fetch, recording. graphql-sse aborts a refused request before it reports it, so the
 * refusal's body (with its code) is read here, before the client sees the response.
 */
function recordingFetch(): Wire {
  const wire: Wire = { fetch, requests: [], refusals: [] };
  wire.fetch = async (input, init) => {
    const response = await fetch(input, init);
    wire.requests.push(`${init?.method ?? 'GET'} ${response.status}`);
    if (response.status >= 400) wire.refusals.push({ status: response.status, body: JSON.parse(await response.clone().text()) as { errors?: CodedError[] } });
    return response;
  };
  return wire;
}

const clients: Client[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose();
});

/** graphql-sse's client as its README sets it up; retries off, so a refusal is reported at once. */
function sseClient(stack: Stack, singleConnection: boolean, options: Partial<ClientOptions<boolean>> = {}): Client {
  const client = createClient<boolean>({ url: graphqlUrl(stack), singleConnection, retryAttempts: 0, ...options });
  clients.push(client);
  return client;
}

const watch = (client: Client, id: string) => observe<WatchResult>((sink) => client.subscribe<{ taskUpdates: TaskUpdate }>({ query: WATCH_TASK, variables: { id } }, sink));
const codesIn = (result: WatchResult | undefined) => (result?.errors as readonly CodedError[] | undefined)?.map((error) => error.extensions?.code);

describe.each([
  ['distinct connections', false],
  ['single connection', true],
])('graphql-sse (%s), open gateway', (_mode, singleConnection) => {
  const stack = useStack(OPEN_GATEWAY);

  it('streams taskUpdates until SUCCEEDED, then completes', async () => {
    const taskId = await createTask(stack);
    const wire = recordingFetch();
    const { values, ended } = await watch(sseClient(stack, singleConnection, { fetchFn: wire.fetch }), taskId);
    expect(ended).toBe('complete');
    expect(values.filter((result) => result.errors !== undefined)).toEqual([]);
    expectStreamedToSuccess(
      values.map((result) => result.data!.taskUpdates),
      taskId,
    );
    // The protocol each mode speaks, as it went over the wire.
    expect(wire.requests).toEqual(singleConnection ? ['PUT 201', 'GET 200', 'POST 202'] : ['POST 200']);
    expect(stack.gateway.live.activePollers).toBe(0);
  });

  it('an unknown task id: one result with TASK_NOT_FOUND, then complete', async () => {
    const { values, ended } = await watch(sseClient(stack, singleConnection), 'no-such-task');
    expect(ended).toBe('complete');
    expect(values).toHaveLength(1);
    expect(codesIn(values[0])).toEqual(['TASK_NOT_FOUND']);
  });

  it('an invalid operation: GRAPHQL_VALIDATION_FAILED, without Yoga internals', async () => {
    const wire = recordingFetch();
    const client = sseClient(stack, singleConnection, { fetchFn: wire.fetch });
    const { values, ended, error } = await observe<ExecutionResult>((sink) => client.subscribe({ query: 'subscription { taskUpdates { id } }' }, sink));
    // Distinct connections: the stream carries the errors, then completes. Single connection: the
    // operation's POST is refused with them (a 400), which graphql-sse reports as a NetworkError.
    const errors = singleConnection ? wire.refusals.at(-1)?.body.errors : (values[0]?.errors as readonly CodedError[] | undefined);
    if (singleConnection) {
      expect(ended).toBe('error');
      expect((error as NetworkError<Response>).response?.status).toBe(400);
    } else {
      expect(ended).toBe('complete');
      expect(values).toHaveLength(1);
    }
    expect(errors?.map((one) => one.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(errors?.[0]?.extensions).not.toHaveProperty('http');
  });

  it('runs a mutation and a query too', async () => {
    const client = sseClient(stack, singleConnection);
    const created = await observe<ExecutionResult<{ createReferenceVideo: { taskId: string; userErrors: unknown[] } }>>((sink) =>
      client.subscribe({ query: CREATE_VIDEO, variables: { input: videoInput() } }, sink),
    );
    expect(created.values[0]?.errors).toBeUndefined();
    const taskId = created.values[0]!.data!.createReferenceVideo.taskId;
    const read = await observe<ExecutionResult<{ task: { id: string } }>>((sink) => client.subscribe({ query: READ_TASK, variables: { id: taskId } }, sink));
    expect(read.values[0]?.data?.task.id).toBe(taskId);
  });
});

describe('graphql-sse single connection: one stream, many operations', () => {
  const stack = useStack(OPEN_GATEWAY);

  it('two subscriptions share one reserved stream and both stream to SUCCEEDED', async () => {
    const [first, second] = [await createTask(stack), await createTask(stack)];
    const wire = recordingFetch();
    const client = sseClient(stack, true, { fetchFn: wire.fetch });
    const [a, b] = await Promise.all([watch(client, first), watch(client, second)]);
    expectStreamedToSuccess(
      a.values.map((result) => result.data!.taskUpdates),
      first,
    );
    expectStreamedToSuccess(
      b.values.map((result) => result.data!.taskUpdates),
      second,
    );
    expect(wire.requests.filter((request) => request.startsWith('PUT'))).toEqual(['PUT 201']);
    expect(wire.requests.filter((request) => request.startsWith('POST'))).toEqual(['POST 202', 'POST 202']);
  });

  it('unsubscribing sends DELETE, which stops the poller and its upstream reads', async () => {
    const taskId = await createTask(stack);
    const wire = recordingFetch();
    const client = sseClient(stack, true, { fetchFn: wire.fetch });
    await new Promise<void>((resolve) => {
      const dispose = client.subscribe<{ taskUpdates: TaskUpdate }>(
        { query: WATCH_TASK, variables: { id: taskId } },
        {
          next: () => {
            dispose();
            resolve();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    });
    await expect.poll(() => wire.requests).toContain('DELETE 200');
    await expect.poll(() => stack.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
    const readsAfterLeave = stack.simulator.stats().resultRequests;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(stack.simulator.stats().resultRequests).toBe(readsAfterLeave);
  });
});

/** The bare single-connection protocol, for what the client hides. */
function protocol(stack: Stack, headers: Record<string, string> = {}) {
  const url = graphqlUrl(stack);
  const streams: AbortController[] = [];
  return {
    reserve: async () => {
      const response = await fetch(url, { method: 'PUT', headers });
      return { status: response.status, text: await response.text() };
    },
    /** Opens the event stream; left open until `closeAll`. */
    connect: async (token: string) => {
      const controller = new AbortController();
      streams.push(controller);
      return fetch(url, { headers: { ...headers, accept: 'text/event-stream', [TOKEN_HEADER]: token }, signal: controller.signal });
    },
    post: (token: string, body: unknown) =>
      fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', [TOKEN_HEADER]: token }, body: JSON.stringify(body) }),
    stop: (token: string, operationId: string) => fetch(`${url}?operationId=${operationId}`, { method: 'DELETE', headers: { ...headers, [TOKEN_HEADER]: token } }),
    closeAll: () => streams.splice(0).forEach((stream) => stream.abort()),
  };
}

async function codeOf(response: Response): Promise<unknown> {
  const body = (await response.json()) as { errors?: CodedError[] };
  return body.errors?.[0]?.extensions?.code;
}

describe('graphql-sse single-connection protocol, bounds and codes', () => {
  const stack = useStack({
    ...OPEN_GATEWAY,
    env: {
      ...OPEN_GATEWAY.env,
      LIVE_MAX_SSE_STREAMS_PER_TENANT: '2',
      LIVE_SSE_STREAM_CONNECT_TIMEOUT_MS: '400',
      LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: '1',
      CORS_ORIGINS: 'https://app.example',
    },
  });
  const raw = () => protocol(stack);
  let opened: ReturnType<typeof protocol> | undefined;
  afterEach(async () => {
    opened?.closeAll();
    opened = undefined;
    // Streams held by a test are released once their connections have closed, and a reservation
    // never opened only when LIVE_SSE_STREAM_CONNECT_TIMEOUT_MS (400 ms) has passed: the next test
    // must not find the caller's 2 places still taken.
    await new Promise((resolve) => setTimeout(resolve, 600));
  });

  it('a token nobody reserved: STREAM_NOT_FOUND, whatever the request', async () => {
    const p = raw();
    const token = '00000000-0000-4000-8000-000000000000';
    for (const response of [await p.connect(token), await p.post(token, { query: READ_TASK, extensions: { operationId: '1' } }), await p.stop(token, '1')]) {
      expect(response.status).toBe(404);
      expect(await codeOf(response)).toBe('STREAM_NOT_FOUND');
    }
    p.closeAll();
  });

  it('operations are taken only once the event stream is open (STREAM_NOT_CONNECTED before)', async () => {
    opened = raw();
    const { status, text: token } = await opened.reserve();
    expect(status).toBe(201);
    const early = await opened.post(token, { query: READ_TASK, variables: { id: 'demo-succeeded' }, extensions: { operationId: '1' } });
    expect(early.status).toBe(409);
    expect(await codeOf(early)).toBe('STREAM_NOT_CONNECTED');
    const stream = await opened.connect(token);
    expect(stream.status).toBe(200);
    const again = await opened.connect(token);
    expect(again.status).toBe(409);
    expect(await codeOf(again)).toBe('STREAM_CONFLICT');
    const accepted = await opened.post(token, { query: READ_TASK, variables: { id: 'demo-succeeded' }, extensions: { operationId: '1' } });
    expect(accepted.status).toBe(202);
    // The result arrives on the stream.
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('event: complete')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"status":"SUCCEEDED"');
  });

  it('a caller holds at most LIVE_MAX_SSE_STREAMS_PER_TENANT streams; one never opened is dropped after the connect timeout', async () => {
    opened = raw();
    const first = await opened.reserve();
    const second = await opened.reserve();
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await opened.connect(first.text)).status).toBe(200);
    const third = await fetch(graphqlUrl(stack), { method: 'PUT' });
    expect(third.status).toBe(429);
    expect(((await third.json()) as { errors: CodedError[] }).errors[0]?.extensions).toMatchObject({ code: 'TOO_MANY_STREAMS', limit: 2 });
    // The second was never opened: after 400 ms it is gone, and its place is free again.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const late = await opened.connect(second.text);
    expect(late.status).toBe(404);
    expect(await codeOf(late)).toBe('STREAM_NOT_FOUND');
    expect((await opened.reserve()).status).toBe(201);
    expect(stack.logs.text()).not.toContain('could not drop an expired event stream reservation');
  });

  it("the hub's cap on a caller's subscriptions holds over one stream too (TOO_MANY_SUBSCRIPTIONS)", async () => {
    const taskId = await createTask(stack);
    const client = sseClient(stack, true);
    const first = new Promise<void>((resolve) => {
      client.subscribe({ query: WATCH_TASK, variables: { id: taskId } }, { next: () => resolve(), error: () => undefined, complete: () => undefined });
    });
    await first;
    const second = await watch(client, taskId);
    expect(second.ended).toBe('complete');
    expect(codesIn(second.values[0])).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
  });

  it('the query length, variable count and syntax are checked as on every other path, with codes', async () => {
    opened = raw();
    const { text: token } = await opened.reserve();
    await opened.connect(token);
    const long = await opened.post(token, { query: `{ __typename ${' '.repeat(100_001)}}`, extensions: { operationId: 'a' } });
    expect(long.status).toBe(400);
    expect(await codeOf(long)).toBe('QUERY_TOO_LARGE');
    const many = await opened.post(token, {
      query: 'query($ids: [ID!]!) { tasks(ids: $ids) { id } }',
      variables: { ids: Array.from({ length: 1001 }, (_, i) => `t${i}`) },
      extensions: { operationId: 'b' },
    });
    expect(many.status).toBe(400);
    expect(await codeOf(many)).toBe('VARIABLES_TOO_LARGE');
    const broken = await opened.post(token, { query: 'subscription {', extensions: { operationId: 'c' } });
    expect(broken.status).toBe(400);
    expect(await codeOf(broken)).toBe('GRAPHQL_PARSE_FAILED');
    const noId = await opened.post(token, { query: READ_TASK, variables: { id: 'demo-succeeded' } });
    expect(noId.status).toBe(400);
    expect(await codeOf(noId)).toBe('BAD_REQUEST');
  });

  it('CORS: PUT and DELETE preflights from an allowed origin pass, and the answers carry CORS headers', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const preflight = await fetch(graphqlUrl(stack), {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': method, 'access-control-request-headers': `authorization,content-type,${TOKEN_HEADER}` },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(preflight.headers.get('access-control-allow-methods')).toContain(method);
      expect(preflight.headers.get('access-control-allow-headers')).toContain(TOKEN_HEADER);
    }
    const other = await fetch(graphqlUrl(stack), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    opened = protocol(stack, { origin: 'https://app.example' });
    const reserved = await fetch(graphqlUrl(stack), { method: 'PUT', headers: { origin: 'https://app.example' } });
    expect(reserved.status).toBe(201);
    expect(reserved.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const token = await reserved.text();
    const stopped = await opened.stop(token, 'x');
    expect(stopped.status).toBe(200);
    expect(stopped.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });
});

describe('graphql-sse, gateway with client keys', () => {
  const OTHER_KEY = 'k-other-tenant-0123456789abcdef';
  const stack = useStack({ ...KEYED_GATEWAY, env: { ...KEYED_GATEWAY.env, GATEWAY_API_KEYS: `${KEYED_GATEWAY.env!.GATEWAY_API_KEYS},other:${OTHER_KEY}` } });
  const auth = { authorization: `Bearer ${CLIENT_KEY}` };

  it.each([
    ['distinct connections', false, 'POST 401'],
    ['single connection', true, 'PUT 401'],
  ])('%s without a key: refused with UNAUTHENTICATED before anything is reserved or run', async (_mode, singleConnection, refused) => {
    const wire = recordingFetch();
    const { ended, error } = await watch(sseClient(stack, singleConnection, { fetchFn: wire.fetch }), 'anything');
    expect(ended).toBe('error');
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError<Response>).response?.status).toBe(401);
    expect(wire.requests).toEqual([refused]);
    expect(wire.refusals[0]?.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['distinct connections', false],
    ['single connection', true],
  ])('%s with the key: follows its own task to SUCCEEDED; an id not signed for it is TASK_NOT_FOUND', async (_mode, singleConnection) => {
    const client = sseClient(stack, singleConnection, { headers: auth });
    const created = await observe<ExecutionResult<{ createReferenceVideo: { taskId: string } }>>((sink) =>
      client.subscribe({ query: CREATE_VIDEO, variables: { input: videoInput() } }, sink),
    );
    const taskId = created.values[0]!.data!.createReferenceVideo.taskId;
    const { values } = await watch(client, taskId);
    expectStreamedToSuccess(
      values.map((result) => result.data!.taskUpdates),
      taskId,
    );
    const missing = await watch(client, 'demo-succeeded');
    expect(codesIn(missing.values[0])).toEqual(['TASK_NOT_FOUND']);
  });

  it("another tenant cannot open, post to or stop a tenant's stream: STREAM_NOT_FOUND", async () => {
    const owner = protocol(stack, auth);
    const intruder = protocol(stack, { authorization: `Bearer ${OTHER_KEY}` });
    const { text: token } = await owner.reserve();
    for (const response of [await intruder.connect(token), await intruder.post(token, { query: READ_TASK, extensions: { operationId: '1' } }), await intruder.stop(token, '1')]) {
      expect(response.status).toBe(404);
      expect(await codeOf(response)).toBe('STREAM_NOT_FOUND');
    }
    // The owner's stream is untouched.
    expect((await owner.connect(token)).status).toBe(200);
    owner.closeAll();
    intruder.closeAll();
  });
});

describe('graphql-sse single connection at shutdown', () => {
  const stacks: Stack[] = [];
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stack.simulator.close();
  });

  it('an open stream ends after its subscriptions have completed, so nothing is cut', async () => {
    const stack = await startStack({ ...OPEN_GATEWAY, simulator: { taskDurationMs: 60_000 }, env: { ...OPEN_GATEWAY.env, SHUTDOWN_GRACE_MS: '5000' } });
    stacks.push(stack);
    const taskId = await createTask(stack);
    // Not lazy: the client keeps its stream open with no operation on it (a lazy one closes it itself).
    const client = sseClient(stack, true, { lazy: false, onNonLazyError: () => undefined });
    // Shutdown begins once the first update has arrived (a watcher counted before its first read
    // would let the stream complete with no value at all).
    let firstArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    const watching = observe<WatchResult>((sink) =>
      client.subscribe<{ taskUpdates: TaskUpdate }>(
        { query: WATCH_TASK, variables: { id: taskId } },
        { next: (value) => (sink.next(value), firstArrived()), error: (error) => sink.error(error), complete: () => sink.complete() },
      ),
    );
    await arrived;
    expect(stack.gateway.live.activeWatchers).toBe(1);
    // cutOff: whether the grace period had to cut a connection (the stream would hold one open).
    const { cutOff } = await stack.gateway.close();
    expect(cutOff).toBe(false);
    const { values, ended } = await watching;
    expect(ended).toBe('complete');
    expect(values[0]?.data?.taskUpdates.status).toBe('QUEUED');
  });
});
