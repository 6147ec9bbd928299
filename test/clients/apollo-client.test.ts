// Apollo Client 4 as its docs set it up: `HttpLink` (queries, mutations, and subscriptions over
// Apollo's multipart HTTP protocol, which HttpLink uses for every subscription by itself) and
// `GraphQLWsLink` over graphql-ws. Then the multipart framing itself, read with a bare fetch:
// headers, `{}` heartbeats, the closing boundary, a client that hangs up.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStack, type Stack } from '../support/stack.js';
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
  videoInput,
  webSocketUrl,
  type CodedError,
  type TaskUpdate,
} from './support.js';

/** Apollo Client 4's own Accept for a subscription through HttpLink (link/http/BaseHttpLink.js). */
const APOLLO_SUBSCRIPTION_ACCEPT = 'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9';
const HEARTBEAT_MS = 200;

const wsClients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(wsClients.splice(0).map((client) => client.dispose()));
});

/** Every request HttpLink sends, with what it asked for and what came back. */
interface Exchange {
  accept: string | null;
  contentType: string | null;
}

function httpClient(stack: Stack, headers: Record<string, string> = {}): { client: ApolloClient; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    exchanges.push({ accept: new Headers(init?.headers).get('accept'), contentType: response.headers.get('content-type') });
    return response;
  };
  const link = new HttpLink({ uri: graphqlUrl(stack), fetch: recording, headers });
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), exchanges };
}

function wsLinkClient(stack: Stack, connectionParams?: Record<string, string>): ApolloClient {
  const ws = createWsClient({ url: webSocketUrl(stack), webSocketImpl: WebSocket, retryAttempts: 0, ...(connectionParams ? { connectionParams } : {}) });
  wsClients.push(ws);
  return new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
}

interface WatchResult {
  data?: { taskUpdates: TaskUpdate } | undefined;
  error?: unknown;
}

/** Subscribes through the client and collects until the observable completes (a stream that never ends fails on the test timeout). */
function watch(client: ApolloClient, id: string): Promise<WatchResult[]> {
  return new Promise((resolve, reject) => {
    const results: WatchResult[] = [];
    client.subscribe<{ taskUpdates: TaskUpdate }>({ query: gql(WATCH_TASK), variables: { id } }).subscribe({
      next: (result) => results.push(result as WatchResult),
      error: reject,
      complete: () => resolve(results),
    });
  });
}

/** The extensions.code values an Apollo error carries, however it reached the client. */
function codesOf(error: unknown): unknown[] {
  if (CombinedGraphQLErrors.is(error)) return error.errors.map((one) => one.extensions?.code);
  // A 401 from the HTTP layer arrives as CombinedGraphQLErrors too: it answers in the GraphQL
  // response media type that Apollo accepts, so a ServerError (code hidden in bodyText) fails here.
  throw new Error(`not an error Apollo builds from a GraphQL answer: ${String(error)}`);
}

const updatesOf = (results: WatchResult[]) => results.map((result) => result.data!.taskUpdates);

describe('Apollo Client, open gateway', () => {
  const stack = useStack({ ...OPEN_GATEWAY, env: { ...OPEN_GATEWAY.env, LIVE_MULTIPART_HEARTBEAT_MS: String(HEARTBEAT_MS), TASK_CACHE_MAX_ENTRIES: '1000' } });

  it('HttpLink: a mutation creates a video, a query reads it back (unchanged JSON, not multipart)', async () => {
    const { client, exchanges } = httpClient(stack);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string; userErrors: unknown[] } }>({
      mutation: gql(CREATE_VIDEO),
      variables: { input: videoInput() },
    });
    expect(created.error).toBeUndefined();
    expect(created.data?.createReferenceVideo.userErrors).toEqual([]);
    const taskId = created.data!.createReferenceVideo.taskId;
    const read = await client.query<{ task: { id: string; status: string; isTerminal: boolean } }>({ query: gql(READ_TASK), variables: { id: taskId } });
    expect(read.data?.task).toMatchObject({ id: taskId, isTerminal: false });
    expect(['QUEUED', 'PROCESSING']).toContain(read.data?.task.status);
    expect(exchanges).toHaveLength(2);
    for (const exchange of exchanges) {
      expect(exchange.accept).toBe('application/graphql-response+json,application/json;q=0.9');
      expect(exchange.contentType).toMatch(/^application\/graphql-response\+json/);
    }
  });

  it('HttpLink: a subscription streams taskUpdates over multipart until SUCCEEDED, then completes', async () => {
    const taskId = await createTask(stack);
    const { client, exchanges } = httpClient(stack);
    const results = await watch(client, taskId);
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    expectStreamedToSuccess(updatesOf(results), taskId);
    expect(exchanges).toEqual([{ accept: APOLLO_SUBSCRIPTION_ACCEPT, contentType: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"' }]);
    expect(stack.gateway.live.activePollers).toBe(0);
  });

  it('HttpLink: an unknown task id surfaces TASK_NOT_FOUND, then the subscription completes', async () => {
    const { client } = httpClient(stack);
    const results = await watch(client, 'no-such-task');
    expect(results).toHaveLength(1);
    expect(results[0]?.data).toBeUndefined();
    expect(codesOf(results[0]?.error)).toEqual(['TASK_NOT_FOUND']);
  });

  it('HttpLink: a subscription with a variable that does not coerce surfaces a coded error', async () => {
    const { client } = httpClient(stack);
    const results = await new Promise<WatchResult[]>((resolve, reject) => {
      const seen: WatchResult[] = [];
      client
        .subscribe({ query: gql('subscription($id: ID!) { taskUpdates(id: $id) { id } }'), variables: { id: { not: 'an id' } } })
        .subscribe({ next: (result) => seen.push(result as WatchResult), error: reject, complete: () => resolve(seen) });
    });
    expect(results).toHaveLength(1);
    expect(codesOf(results[0]?.error)).toEqual(['BAD_USER_INPUT']);
  });

  it('HttpLink: unsubscribing ends the request, and with it the poller and its upstream reads', async () => {
    const taskId = await createTask(stack);
    const { client } = httpClient(stack);
    const first = new Promise<WatchResult>((resolve) => {
      const subscription = client.subscribe<{ taskUpdates: TaskUpdate }>({ query: gql(WATCH_TASK), variables: { id: taskId } }).subscribe((result) => {
        subscription.unsubscribe();
        resolve(result as WatchResult);
      });
    });
    expect((await first).data?.taskUpdates.isTerminal).toBe(false);
    await expect.poll(() => stack.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
    const readsAfterLeave = stack.simulator.stats().resultRequests;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(stack.simulator.stats().resultRequests).toBe(readsAfterLeave);
  });

  it('GraphQLWsLink: streams taskUpdates until SUCCEEDED, then completes', async () => {
    const taskId = await createTask(stack);
    const results = await watch(wsLinkClient(stack), taskId);
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    expectStreamedToSuccess(updatesOf(results), taskId);
  });

  it('GraphQLWsLink: an unknown task id surfaces TASK_NOT_FOUND, then the subscription completes', async () => {
    const results = await watch(wsLinkClient(stack), 'no-such-task');
    expect(results).toHaveLength(1);
    expect(codesOf(results[0]?.error)).toEqual(['TASK_NOT_FOUND']);
  });

  it('HttpLink for queries and GraphQLWsLink for subscriptions, split as Apollo documents it', async () => {
    const { client: http } = httpClient(stack);
    const ws = wsLinkClient(stack);
    const link = ApolloLink.split(
      ({ operationType }) => operationType === 'subscription',
      ws.link,
      http.link,
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    expectStreamedToSuccess(updatesOf(await watch(client, taskId)), taskId);
  });
});

describe('Apollo multipart framing, read with fetch', () => {
  const stack = useStack({ ...OPEN_GATEWAY, env: { ...OPEN_GATEWAY.env, LIVE_MULTIPART_HEARTBEAT_MS: String(HEARTBEAT_MS), TASK_CACHE_MAX_ENTRIES: '1000' } });

  const subscribe = (id: string, signal?: AbortSignal) =>
    fetch(graphqlUrl(stack), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: APOLLO_SUBSCRIPTION_ACCEPT },
      body: JSON.stringify({ query: WATCH_TASK, variables: { id } }),
      ...(signal ? { signal } : {}),
    });

  /** The parts between `--graphql` delimiters: their headers and JSON bodies, and whether the body closed properly. */
  function parts(text: string): { headers: string; body: unknown }[] {
    expect(text.startsWith('\r\n--graphql\r\n')).toBe(true);
    expect(text.endsWith('\r\n--graphql--\r\n')).toBe(true);
    return text
      .slice('\r\n--graphql'.length, -'\r\n--graphql--\r\n'.length)
      .split('\r\n--graphql')
      .map((part) => {
        const [headers, body] = part.split('\r\n\r\n') as [string, string];
        return { headers: headers.trim(), body: JSON.parse(body) as unknown };
      });
  }

  it('parts carry {"payload":…}, {} heartbeats come between them, and the body ends with --graphql--', async () => {
    const taskId = await createTask(stack);
    const response = await subscribe(taskId);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const all = parts(await response.text());
    for (const part of all) expect(part.headers).toBe('content-type: application/json; charset=utf-8');
    const heartbeats = all.filter((part) => JSON.stringify(part.body) === '{}');
    const payloads = all.filter((part) => JSON.stringify(part.body) !== '{}');
    // The task takes 2 s and the heartbeat comes every 200 ms.
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    for (const part of payloads) expect(Object.keys(part.body as object)).toEqual(['payload']);
    expectStreamedToSuccess(
      payloads.map((part) => (part.body as { payload: { data: { taskUpdates: TaskUpdate } } }).payload.data.taskUpdates),
      taskId,
    );
  });

  it('a GraphQL error is a payload with `errors`, then the closing delimiter', async () => {
    const response = await subscribe('no-such-task');
    const all = parts(await response.text()).filter((part) => JSON.stringify(part.body) !== '{}');
    expect(all).toHaveLength(1);
    const payload = (all[0]?.body as { payload: { data: unknown; errors: CodedError[] } }).payload;
    expect(payload.data).toBeNull();
    expect(payload.errors.map((error) => error.extensions?.code)).toEqual(['TASK_NOT_FOUND']);
  });

  it('hanging up stops the poller, heartbeats included', async () => {
    const taskId = await createTask(stack);
    const controller = new AbortController();
    const response = await subscribe(taskId, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    await expect.poll(() => stack.gateway.live.activeWatchers, { timeout: 2000 }).toBe(1);
    controller.abort();
    await expect.poll(() => stack.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
  });

  it('a stream is never replayed from the response cache: the same request twice streams twice', async () => {
    for (let round = 0; round < 2; round++) {
      const response = await subscribe('demo-succeeded');
      expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed/);
      const payloads = parts(await response.text()).filter((part) => JSON.stringify(part.body) !== '{}');
      expect(payloads.map((part) => (part.body as { payload: { data: { taskUpdates: TaskUpdate } } }).payload.data.taskUpdates.status)).toEqual(['SUCCEEDED']);
    }
  });

  it('without subscriptionSpec, multipart/mixed alone still gets no subscription: a coded 406 naming what would do', async () => {
    const response = await fetch(graphqlUrl(stack), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed' },
      body: JSON.stringify({ query: WATCH_TASK, variables: { id: 'demo-succeeded' } }),
    });
    expect(response.status).toBe(406);
    const body = (await response.json()) as { errors: CodedError[] };
    expect(body.errors[0]?.extensions?.code).toBe('NOT_ACCEPTABLE');
    expect(body.errors[0]?.message).toContain('subscriptionSpec="1.0"');
  });
});

describe('Apollo Client, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);
  const auth = { authorization: `Bearer ${CLIENT_KEY}` };

  it('HttpLink without a key: queries and subscriptions surface UNAUTHENTICATED', async () => {
    const { client } = httpClient(stack);
    const read = await client.query({ query: gql(READ_TASK), variables: { id: 'anything' } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(codesOf(read)).toEqual(['UNAUTHENTICATED']);
    const results = await watch(client, 'anything');
    expect(results).toHaveLength(1);
    expect(codesOf(results[0]?.error)).toEqual(['UNAUTHENTICATED']);
  });

  it('HttpLink with the key: create, read back, and follow the task to SUCCEEDED over multipart', async () => {
    const { client } = httpClient(stack, auth);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    const read = await client.query<{ task: { id: string } }>({ query: gql(READ_TASK), variables: { id: taskId } });
    expect(read.data?.task.id).toBe(taskId);
    expectStreamedToSuccess(updatesOf(await watch(client, taskId)), taskId);
  });

  it('HttpLink with the key: an id that was never signed for this tenant surfaces TASK_NOT_FOUND', async () => {
    const { client } = httpClient(stack, auth);
    const results = await watch(client, 'demo-succeeded');
    expect(codesOf(results[0]?.error)).toEqual(['TASK_NOT_FOUND']);
  });

  it('GraphQLWsLink with the key in connectionParams: streams to SUCCEEDED; an unsigned id is TASK_NOT_FOUND', async () => {
    const { client } = httpClient(stack, auth);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    const ws = wsLinkClient(stack, auth);
    expectStreamedToSuccess(updatesOf(await watch(ws, taskId)), taskId);
    const missing = await watch(ws, 'demo-succeeded');
    expect(codesOf(missing[0]?.error)).toEqual(['TASK_NOT_FOUND']);
  });

  it('GraphQLWsLink without a key: the socket is closed with UNAUTHENTICATED as its reason', async () => {
    const results = await watch(wsLinkClient(stack), 'anything');
    expect(results).toHaveLength(1);
    // A WebSocket refusal has no JSON body: the code travels as the close reason (Apollo prints it).
    expect(String(results[0]?.error)).toMatch(/Socket closed with event 44\d\d UNAUTHENTICATED/);
  });
});
