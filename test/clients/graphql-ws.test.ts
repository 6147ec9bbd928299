// The graphql-ws client over the `ws` package, as its README sets it up for Node: `createClient`
// with `webSocketImpl`, the client key in `connectionParams` (what a browser must use, since it
// cannot set headers on a WebSocket).
import { createClient, type Client, type ClientOptions, type ExecutionResult } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStack, type Stack } from '../support/stack.js';
import {
  CLIENT_KEY,
  CREATE_VIDEO,
  KEYED_GATEWAY,
  OPEN_GATEWAY,
  WATCH_TASK,
  WRONG_KEY,
  createTask,
  expectStreamedToSuccess,
  observe,
  videoInput,
  webSocketUrl,
  type CodedError,
  type TaskUpdate,
} from './support.js';

type WatchResult = ExecutionResult<{ taskUpdates: TaskUpdate }, unknown>;

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

function wsClient(stack: Stack, options: Partial<ClientOptions> = {}): Client {
  const client = createClient({ url: webSocketUrl(stack), webSocketImpl: WebSocket, ...options });
  clients.push(client);
  return client;
}

const watch = (client: Client, id: string) =>
  observe<WatchResult>((sink) => client.subscribe<{ taskUpdates: TaskUpdate }>({ query: WATCH_TASK, variables: { id } }, sink));

describe('graphql-ws, open gateway', () => {
  const stack = useStack(OPEN_GATEWAY);

  it('streams taskUpdates until SUCCEEDED, then completes', async () => {
    const taskId = await createTask(stack);
    const { values, ended } = await watch(wsClient(stack), taskId);
    expect(ended).toBe('complete');
    expect(values.filter((result) => result.errors !== undefined)).toEqual([]);
    expectStreamedToSuccess(
      values.map((result) => result.data!.taskUpdates),
      taskId,
    );
  });

  it('a task that does not exist: one result with TASK_NOT_FOUND in `errors`, then complete', async () => {
    const { values, ended } = await watch(wsClient(stack), 'no-such-task');
    expect(ended).toBe('complete');
    expect(values).toHaveLength(1);
    expect((values[0]?.errors as readonly CodedError[] | undefined)?.map((error) => error.extensions?.code)).toEqual(['TASK_NOT_FOUND']);
  });
});

describe('graphql-ws, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);

  it('with the key in connectionParams: creates a video and follows it to SUCCEEDED on one socket', async () => {
    const client = wsClient(stack, { connectionParams: { authorization: `Bearer ${CLIENT_KEY}` } });
    const created = await observe<ExecutionResult<{ createReferenceVideo: { taskId: string } }, unknown>>((sink) =>
      client.subscribe({ query: CREATE_VIDEO, variables: { input: videoInput() } }, sink),
    );
    const taskId = created.values[0]?.data?.createReferenceVideo.taskId as string;
    expect(taskId).toEqual(expect.any(String));
    const { values, ended } = await watch(client, taskId);
    expect(ended).toBe('complete');
    expectStreamedToSuccess(
      values.map((result) => result.data!.taskUpdates),
      taskId,
    );
  });

  it.each([
    ['no key', undefined],
    ['a wrong key', { authorization: `Bearer ${WRONG_KEY}` }],
  ])('with %s: the socket closes at once with 4401 UNAUTHENTICATED, which the client does not retry', async (_name, connectionParams) => {
    // Default retry settings: a close code the client retried (4403) would keep this test waiting ~40 s.
    const client = wsClient(stack, connectionParams ? { connectionParams } : {});
    const { values, ended, error } = await watch(client, 'demo-succeeded');
    expect(ended).toBe('error');
    expect(values).toEqual([]);
    expect(error).toMatchObject({ code: 4401, reason: 'UNAUTHENTICATED' });
  });
});
