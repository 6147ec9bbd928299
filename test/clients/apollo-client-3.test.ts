// Apollo Client 3 (3.14, installed as `@apollo/client-3`), which many frontends still run, as its
// docs set it up: `HttpLink` for queries, mutations and subscriptions (multipart HTTP, which
// HttpLink uses for every subscription by itself), and `GraphQLWsLink` over graphql-ws. Imported
// from `core` and its subpaths, so no React is loaded. Apollo 3 differs from 4 where it touches
// the gateway: its Accept for a subscription (`multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json`,
// link/http/createHttpLink.js), `*/*` for everything else, its own multipart reader
// (link/http/parseAndCheckHttpResponse.js), and its errors: an `ApolloError` fails the operation
// (GraphQL errors in `graphQLErrors`, a non-2xx answer in `networkError`), except that a
// subscription's network error arrives unwrapped.
import { ApolloClient, ApolloError, HttpLink, InMemoryCache, gql, split, type FetchResult, type ServerError } from '@apollo/client-3/core';
import { GraphQLWsLink } from '@apollo/client-3/link/subscriptions';
import { getMainDefinition } from '@apollo/client-3/utilities';
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
  type WatchedUpdates,
} from './support.js';

/** Apollo Client 3's own Accept for a subscription through HttpLink (link/http/createHttpLink.js). */
const APOLLO3_SUBSCRIPTION_ACCEPT = 'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json';
/** Apollo Client 3's Accept for queries and mutations (link/http/selectHttpOptionsAndBody.js). */
const APOLLO3_DEFAULT_ACCEPT = '*/*';

const wsClients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(wsClients.splice(0).map((client) => client.dispose()));
});

/** Apollo 3's client is generic over its cache's shape; these tests keep the normalized default. */
type Client = ApolloClient<object>;

/** Every request HttpLink sends, with what it asked for and what came back. */
interface Exchange {
  accept: string | null;
  contentType: string | null;
}

/** The HTTP links' fetch, noting each exchange; multipart bodies are teed so a test can read what Apollo read. */
function httpLink(stack: Stack, headers: Record<string, string> = {}): { link: HttpLink; exchanges: Exchange[]; multipartBodies: Promise<string>[] } {
  const exchanges: Exchange[] = [];
  const multipartBodies: Promise<string>[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const contentType = response.headers.get('content-type');
    exchanges.push({ accept: new Headers(init?.headers).get('accept'), contentType });
    if (!contentType?.startsWith('multipart/') || response.body === null) return response;
    const [forApollo, forTest] = response.body.tee();
    // An aborted request errors both branches: the copy then reads as whatever had arrived.
    multipartBodies.push(new Response(forTest).text().catch(() => ''));
    return new Response(forApollo, { status: response.status, headers: response.headers });
  };
  return { link: new HttpLink({ uri: graphqlUrl(stack), fetch: recording, headers }), exchanges, multipartBodies };
}

function httpClient(stack: Stack, headers: Record<string, string> = {}): { client: Client; exchanges: Exchange[]; multipartBodies: Promise<string>[] } {
  const { link, ...recorded } = httpLink(stack, headers);
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), ...recorded };
}

function wsLink(stack: Stack, connectionParams?: Record<string, string>): GraphQLWsLink {
  const ws = createWsClient({ url: webSocketUrl(stack), webSocketImpl: WebSocket, retryAttempts: 0, ...(connectionParams ? { connectionParams } : {}) });
  wsClients.push(ws);
  return new GraphQLWsLink(ws);
}

const wsLinkClient = (stack: Stack, connectionParams?: Record<string, string>): Client =>
  new ApolloClient({ link: wsLink(stack, connectionParams), cache: new InMemoryCache() });

/**
 * Subscribes through the client and collects until the observable completes or fails. Apollo 3,
 * with its default errorPolicy `none`, fails the observable on a GraphQL error (Apollo 4 hands it
 * over as a result). A stream that never ends fails on the test timeout.
 */
function watch(client: Client, id: string): Promise<WatchedUpdates> {
  return new Promise((resolve) => {
    const updates: TaskUpdate[] = [];
    client.subscribe<{ taskUpdates: TaskUpdate }>({ query: gql(WATCH_TASK), variables: { id } }).subscribe({
      next: (result: FetchResult<{ taskUpdates: TaskUpdate }>) => {
        if (result.data) updates.push(result.data.taskUpdates);
      },
      error: (error: unknown) => resolve({ updates, ended: 'error', error }),
      complete: () => resolve({ updates, ended: 'complete' }),
    });
  });
}

/** The extensions.code values of the GraphQL errors in an ApolloError (a GraphQL answer that had errors). */
function graphQLCodesOf(error: unknown): unknown[] {
  if (!(error instanceof ApolloError)) throw new Error(`not an ApolloError: ${String(error)}`);
  expect(error.networkError).toBeNull();
  return error.graphQLErrors.map((one) => one.extensions?.code);
}

/**
 * The status and extensions.code values of an answer Apollo 3 took as a network error: a non-2xx
 * status is a ServerError whatever its body, with the parsed GraphQL body in `result`.
 */
function serverErrorCodesOf(error: unknown): { status: number; codes: unknown[] } {
  const server = error as Partial<ServerError> | null;
  if (server?.name !== 'ServerError' || server.statusCode === undefined) throw new Error(`not a ServerError: ${String(error)}`);
  const body = server.result as { errors?: CodedError[] };
  return { status: server.statusCode, codes: (body.errors ?? []).map((one) => one.extensions?.code) };
}

describe('Apollo Client 3, open gateway', () => {
  const stack = useStack({ ...OPEN_GATEWAY, env: { ...OPEN_GATEWAY.env, LIVE_MULTIPART_HEARTBEAT_MS: '200', TASK_CACHE_MAX_ENTRIES: '1000' } });

  it('HttpLink: a mutation creates a video, a query reads it back (JSON, not multipart)', async () => {
    const { client, exchanges } = httpClient(stack);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string; userErrors: unknown[] } }>({
      mutation: gql(CREATE_VIDEO),
      variables: { input: videoInput() },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data?.createReferenceVideo.userErrors).toEqual([]);
    const taskId = created.data!.createReferenceVideo.taskId;
    const read = await client.query<{ task: { id: string; status: string; isTerminal: boolean } }>({ query: gql(READ_TASK), variables: { id: taskId } });
    expect(read.error).toBeUndefined();
    expect(read.data.task).toMatchObject({ id: taskId, isTerminal: false });
    expect(['QUEUED', 'PROCESSING']).toContain(read.data.task.status);
    expect(exchanges).toHaveLength(2);
    for (const exchange of exchanges) {
      expect(exchange.accept).toBe(APOLLO3_DEFAULT_ACCEPT);
      expect(exchange.contentType).toBe('application/json; charset=utf-8');
    }
  });

  it('HttpLink: a subscription streams taskUpdates over multipart, through {} heartbeats, until SUCCEEDED, then completes', async () => {
    const taskId = await createTask(stack);
    const { client, exchanges, multipartBodies } = httpClient(stack);
    const watched = await watch(client, taskId);
    expect(watched.error).toBeUndefined();
    expect(watched.ended).toBe('complete');
    expectStreamedToSuccess(watched.updates, taskId);
    expect(exchanges).toEqual([{ accept: APOLLO3_SUBSCRIPTION_ACCEPT, contentType: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"' }]);
    // What Apollo 3 read had heartbeats between the events (the task takes 2 s, a heartbeat comes
    // every 200 ms) and ended with the closing delimiter; none of them reached the app as a result.
    expect(multipartBodies).toHaveLength(1);
    const body = await multipartBodies[0]!;
    expect(body.split('\r\n\r\n{}\r\n--graphql').length - 1).toBeGreaterThanOrEqual(2);
    expect(body.endsWith('\r\n--graphql--\r\n')).toBe(true);
    expect(stack.gateway.live.activePollers).toBe(0);
  });

  it('HttpLink: an unknown task id fails the subscription with an ApolloError carrying TASK_NOT_FOUND', async () => {
    const { client, exchanges } = httpClient(stack);
    const watched = await watch(client, 'no-such-task');
    expect(watched.updates).toEqual([]);
    expect(watched.ended).toBe('error');
    expect(graphQLCodesOf(watched.error)).toEqual(['TASK_NOT_FOUND']);
    // Over the multipart protocol (a GraphQL error in a payload), not as a refused request.
    expect(exchanges.map((exchange) => exchange.contentType)).toEqual(['multipart/mixed;boundary="graphql";subscriptionSpec="1.0"']);
  });

  it('HttpLink: unsubscribing aborts the request, and with it the poller and its upstream reads', async () => {
    const taskId = await createTask(stack);
    const { client } = httpClient(stack);
    const first = new Promise<FetchResult<{ taskUpdates: TaskUpdate }>>((resolve) => {
      const subscription = client.subscribe<{ taskUpdates: TaskUpdate }>({ query: gql(WATCH_TASK), variables: { id: taskId } }).subscribe((result) => {
        subscription.unsubscribe();
        resolve(result);
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
    const watched = await watch(wsLinkClient(stack), taskId);
    expect(watched.error).toBeUndefined();
    expect(watched.ended).toBe('complete');
    expectStreamedToSuccess(watched.updates, taskId);
  });

  it('GraphQLWsLink: an unknown task id fails the subscription with an ApolloError carrying TASK_NOT_FOUND', async () => {
    const watched = await watch(wsLinkClient(stack), 'no-such-task');
    expect(watched.updates).toEqual([]);
    expect(watched.ended).toBe('error');
    expect(graphQLCodesOf(watched.error)).toEqual(['TASK_NOT_FOUND']);
  });

  it('HttpLink for queries and GraphQLWsLink for subscriptions, split as Apollo 3 documents it', async () => {
    const { link: http, exchanges } = httpLink(stack);
    const link = split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      wsLink(stack),
      http,
    );
    const client: Client = new ApolloClient({ link, cache: new InMemoryCache() });
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    const watched = await watch(client, taskId);
    expect(watched.ended).toBe('complete');
    expectStreamedToSuccess(watched.updates, taskId);
    // The subscription went over the socket: HttpLink saw only the mutation.
    expect(exchanges).toHaveLength(1);
  });
});

describe('Apollo Client 3, an upstream outage mid-stream', () => {
  const stack = useStack({ ...OPEN_GATEWAY, env: { ...OPEN_GATEWAY.env, UPSTREAM_READ_RETRIES: '0', LIVE_MAX_CONSECUTIVE_FAILURES: '2' } });

  it('HttpLink: the updates so far arrive, then an ApolloError carrying UPSTREAM_UNAVAILABLE ends the subscription', async () => {
    const taskId = await createTask(stack);
    const { client } = httpClient(stack);
    const watched = await new Promise<WatchedUpdates>((resolve) => {
      const updates: TaskUpdate[] = [];
      client.subscribe<{ taskUpdates: TaskUpdate }>({ query: gql(WATCH_TASK), variables: { id: taskId } }).subscribe({
        next: (result) => {
          if (result.data) updates.push(result.data.taskUpdates);
          // The upstream goes down once the first state has arrived.
          if (updates.length === 1) stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503, times: 100 });
        },
        error: (error: unknown) => resolve({ updates, ended: 'error', error }),
        complete: () => resolve({ updates, ended: 'complete' }),
      });
    });
    expect(watched.updates.length).toBeGreaterThanOrEqual(1);
    expect(watched.updates[0]).toMatchObject({ id: taskId, isTerminal: false });
    expect(watched.ended).toBe('error');
    expect(graphQLCodesOf(watched.error)).toEqual(['UPSTREAM_UNAVAILABLE']);
    await expect.poll(() => stack.gateway.live.activePollers, { timeout: 2000 }).toBe(0);
  });
});

describe('Apollo Client 3, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);
  const auth = { authorization: `Bearer ${CLIENT_KEY}` };

  it('HttpLink without a key: a query fails with an ApolloError whose networkError (a 401) holds UNAUTHENTICATED', async () => {
    const { client } = httpClient(stack);
    const error = await client.query({ query: gql(READ_TASK), variables: { id: 'anything' } }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    // Apollo 3 reads any non-2xx answer as a network error, GraphQL body or not: the code is in
    // networkError.result, not in graphQLErrors (Apollo 4 gives CombinedGraphQLErrors instead).
    if (!(error instanceof ApolloError)) throw new Error(`not an ApolloError: ${String(error)}`);
    expect(error.graphQLErrors).toEqual([]);
    expect(serverErrorCodesOf(error.networkError)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
  });

  it('HttpLink without a key: a subscription fails with the ServerError itself (not wrapped), holding UNAUTHENTICATED', async () => {
    const { client } = httpClient(stack);
    const watched = await watch(client, 'anything');
    expect(watched.updates).toEqual([]);
    expect(watched.ended).toBe('error');
    // client.subscribe passes a link's network error on as it is; only GraphQL errors get an ApolloError.
    expect(watched.error).not.toBeInstanceOf(ApolloError);
    expect(serverErrorCodesOf(watched.error)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
  });

  it('HttpLink with the key: create, read back, and follow the task to SUCCEEDED over multipart', async () => {
    const { client } = httpClient(stack, auth);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    const read = await client.query<{ task: { id: string } }>({ query: gql(READ_TASK), variables: { id: taskId } });
    expect(read.data.task.id).toBe(taskId);
    const watched = await watch(client, taskId);
    expect(watched.ended).toBe('complete');
    expectStreamedToSuccess(watched.updates, taskId);
  });

  it('GraphQLWsLink with the key in connectionParams: streams to SUCCEEDED', async () => {
    const { client } = httpClient(stack, auth);
    const created = await client.mutate<{ createReferenceVideo: { taskId: string } }>({ mutation: gql(CREATE_VIDEO), variables: { input: videoInput() } });
    const taskId = created.data!.createReferenceVideo.taskId;
    const watched = await watch(wsLinkClient(stack, auth), taskId);
    expect(watched.ended).toBe('complete');
    expectStreamedToSuccess(watched.updates, taskId);
  });
});
