// Relay's network layer as Relay's docs write it: `Network.create(fetchFn, subscribeFn)`, where
// fetchFn POSTs `{ query: operation.text, variables }` and returns the JSON (relay.dev, "Network
// Layer"), and subscribeFn hands the operation to graphql-sse or graphql-ws inside
// `Observable.create` (the recipe both libraries give for Relay). Operations run through Relay's
// own APIs (fetchQuery, commitMutation, requestSubscription); errors are asserted on what those
// hand the application: a RelayNetwork error whose `source.errors` are the gateway's errors.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import {
  commitMutation,
  Environment,
  fetchQuery,
  Network,
  Observable,
  RecordSource,
  requestSubscription,
  Store,
  type FetchFunction,
  type GraphQLResponse,
  type SubscribeFunction,
} from 'relay-runtime';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStack, type Stack } from '../support/stack.js';
import { CreateVideoMutation, ReadTaskQuery, WatchTaskSubscription } from './relay-artifacts.js';
import {
  CLIENT_KEY,
  KEYED_GATEWAY,
  OPEN_GATEWAY,
  WRONG_KEY,
  createTask,
  expectStreamedToSuccess,
  graphqlUrl,
  videoInput,
  webSocketUrl,
  type CodedError,
  type TaskUpdate,
  type WatchedUpdates,
} from './support.js';

type Transport = 'graphql-sse' | 'graphql-ws';

const wsClients: WsClient[] = [];
afterEach(async () => {
  await Promise.all(wsClients.splice(0).map((client) => client.dispose()));
});

/** The fetch function from Relay's docs; the key, when there is one, in the Authorization header. */
function fetchFunction(stack: Stack, key?: string): FetchFunction {
  return async (operation, variables) => {
    const response = await fetch(graphqlUrl(stack), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: operation.text, variables }),
    });
    return (await response.json()) as GraphQLResponse;
  };
}

/** The Relay recipe of graphql-sse (distinct connections) or graphql-ws. */
function subscribeFunction(stack: Stack, transport: Transport, key?: string): SubscribeFunction {
  const authorization = key ? { authorization: `Bearer ${key}` } : undefined;
  const client =
    transport === 'graphql-sse'
      ? createSseClient({ url: graphqlUrl(stack), ...(authorization ? { headers: authorization } : {}) })
      : createWsClient({ url: webSocketUrl(stack), webSocketImpl: WebSocket, ...(authorization ? { connectionParams: authorization } : {}) });
  if (transport === 'graphql-ws') wsClients.push(client as WsClient);
  return (operation, variables) =>
    Observable.create<GraphQLResponse>((sink) =>
      client.subscribe<GraphQLResponse>({ operationName: operation.name, query: operation.text ?? '', variables }, {
        next: (value) => sink.next(value as GraphQLResponse),
        error: (error) => sink.error(error as Error),
        complete: () => sink.complete(),
      }),
    );
}

function relayEnvironment(stack: Stack, transport: Transport, key?: string): Environment {
  return new Environment({
    network: Network.create(fetchFunction(stack, key), subscribeFunction(stack, transport, key)),
    store: new Store(new RecordSource()),
  });
}

/** The gateway's codes in a RelayNetwork error ("No data returned for operation …"). */
function codesOf(error: unknown): (string | undefined)[] {
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('RelayNetwork');
  const source = (error as Error & { source?: { errors?: CodedError[] } }).source;
  return (source?.errors ?? []).map((e) => e.extensions?.code);
}

function readTask(environment: Environment, id: string) {
  return fetchQuery<ReadTaskQuery>(environment, ReadTaskQuery, { id }).toPromise();
}

function createVideo(environment: Environment): Promise<CreateVideoMutation['response']> {
  return new Promise((resolve, reject) => {
    commitMutation<CreateVideoMutation>(environment, {
      mutation: CreateVideoMutation,
      variables: { input: videoInput() },
      onCompleted: (response) => resolve(response),
      onError: reject,
    });
  });
}

function watch(environment: Environment, id: string): Promise<WatchedUpdates> {
  return new Promise((resolve) => {
    const updates: TaskUpdate[] = [];
    requestSubscription<WatchTaskSubscription>(environment, {
      subscription: WatchTaskSubscription,
      variables: { id },
      onNext: (response) => {
        if (response) updates.push({ ...response.taskUpdates });
      },
      onCompleted: () => resolve({ updates, ended: 'complete' }),
      onError: (error) => resolve({ updates, ended: 'error', error }),
    });
  });
}

describe('Relay, open gateway', () => {
  const stack = useStack(OPEN_GATEWAY);

  it('fetchQuery reads a task', async () => {
    const data = await readTask(relayEnvironment(stack, 'graphql-sse'), 'demo-succeeded');
    expect(data?.task).toEqual({ id: 'demo-succeeded', status: 'SUCCEEDED', isTerminal: true });
  });

  it('commitMutation creates a video', async () => {
    const environment = relayEnvironment(stack, 'graphql-sse');
    const created = await createVideo(environment);
    expect(created.createReferenceVideo.userErrors).toEqual([]);
    const taskId = created.createReferenceVideo.taskId as string;
    expect((await readTask(environment, taskId))?.task?.id).toBe(taskId);
  });

  describe.each<Transport>(['graphql-sse', 'graphql-ws'])('requestSubscription over %s', (transport) => {
    it('streams taskUpdates until SUCCEEDED, then onCompleted', async () => {
      const taskId = await createTask(stack);
      const { updates, ended } = await watch(relayEnvironment(stack, transport), taskId);
      expect(ended).toBe('complete');
      expectStreamedToSuccess(updates, taskId);
    });

    it('a task that does not exist: onError with TASK_NOT_FOUND in error.source.errors', async () => {
      const { updates, ended, error } = await watch(relayEnvironment(stack, transport), 'no-such-task');
      expect(ended).toBe('error');
      expect(updates).toEqual([]);
      expect(codesOf(error)).toEqual(['TASK_NOT_FOUND']);
    });
  });
});

describe('Relay, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);

  it.each([
    ['no key', undefined],
    ['a wrong key', WRONG_KEY],
  ])('fetchQuery and commitMutation with %s: a RelayNetwork error carrying UNAUTHENTICATED', async (_name, key) => {
    const environment = relayEnvironment(stack, 'graphql-sse', key);
    const queried = await readTask(environment, 'demo-succeeded').catch((error: unknown) => error);
    expect(codesOf(queried)).toEqual(['UNAUTHENTICATED']);
    const mutated = await createVideo(environment).catch((error: unknown) => error);
    expect(codesOf(mutated)).toEqual(['UNAUTHENTICATED']);
  });

  it.each<Transport>(['graphql-sse', 'graphql-ws'])('with the key: creates a video and follows it to SUCCEEDED over %s', async (transport) => {
    const environment = relayEnvironment(stack, transport, CLIENT_KEY);
    const created = await createVideo(environment);
    const taskId = created.createReferenceVideo.taskId as string;
    expect(taskId).toEqual(expect.any(String));
    const { updates, ended } = await watch(environment, taskId);
    expect(ended).toBe('complete');
    expectStreamedToSuccess(updates, taskId);
  });
});
