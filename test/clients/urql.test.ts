// urql's Client as its docs set it up: `cacheExchange` and `fetchExchange` with their defaults
// (queries are sent as GET while the URL stays under 2048 characters), and `subscriptionExchange`
// forwarding subscriptions to a graphql-sse client in its default distinct-connections mode.
// Errors are asserted on the CombinedError urql hands the application.
import { Client, cacheExchange, fetchExchange, subscriptionExchange, type OperationResult } from '@urql/core';
import { createClient as createSseClient, NetworkError } from 'graphql-sse';
import { describe, expect, it } from 'vitest';
import { useStack, type Stack } from '../support/stack.js';
import {
  CLIENT_KEY,
  CREATE_VIDEO,
  KEYED_GATEWAY,
  OPEN_GATEWAY,
  READ_TASK,
  WATCH_TASK,
  WRONG_KEY,
  createTask,
  expectStreamedToSuccess,
  graphqlUrl,
  methodRecordingFetch,
  videoInput,
  type TaskUpdate,
} from './support.js';

interface UrqlSetup {
  /** Sent with every HTTP request (urql's `fetchOptions`, graphql-sse's `headers`). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  /** graphql-sse retries a refused connection 5 times (about a minute of backoff) unless told otherwise. */
  sseRetryAttempts?: number;
}

/** The client from urql's docs, pointed at the gateway. */
function urqlClient(stack: Stack, setup: UrqlSetup = {}): Client {
  const sse = createSseClient({
    url: graphqlUrl(stack),
    ...(setup.headers ? { headers: setup.headers } : {}),
    ...(setup.sseRetryAttempts === undefined ? {} : { retryAttempts: setup.sseRetryAttempts }),
  });
  return new Client({
    url: graphqlUrl(stack),
    ...(setup.headers ? { fetchOptions: { headers: setup.headers } } : {}),
    ...(setup.fetch ? { fetch: setup.fetch } : {}),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: sse.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
}

type WatchResult = OperationResult<{ taskUpdates: TaskUpdate }>;

/**
 * Every result of a subscription until urql ends its source: urql marks the last result of a
 * finished subscription `hasNext: false`, after which the source completes.
 */
function watch(client: Client, id: string): Promise<WatchResult[]> {
  return new Promise((resolve) => {
    const results: WatchResult[] = [];
    client.subscription<{ taskUpdates: TaskUpdate }>(WATCH_TASK, { id }).subscribe((result) => {
      results.push(result);
      if (!result.hasNext) resolve(results);
    });
  });
}

const codesOf = (result: OperationResult) => result.error?.graphQLErrors.map((error) => error.extensions.code);

describe('urql, open gateway', () => {
  const stack = useStack(OPEN_GATEWAY);

  it('reads a task with a GET query (the default)', async () => {
    const recorder = methodRecordingFetch();
    const result = await urqlClient(stack, { fetch: recorder.fetch }).query(READ_TASK, { id: 'demo-succeeded' }).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toMatchObject({ task: { id: 'demo-succeeded', status: 'SUCCEEDED', isTerminal: true } });
    expect(recorder.methods).toEqual(['GET']);
  });

  it('creates a video with a POSTed mutation', async () => {
    const recorder = methodRecordingFetch();
    const result = await urqlClient(stack, { fetch: recorder.fetch }).mutation(CREATE_VIDEO, { input: videoInput() }).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data?.createReferenceVideo).toMatchObject({ taskId: expect.any(String), userErrors: [] });
    expect(recorder.methods).toEqual(['POST']);
  });

  it('streams taskUpdates through subscriptionExchange + graphql-sse until SUCCEEDED, then ends', async () => {
    const taskId = await createTask(stack);
    const results = await watch(urqlClient(stack), taskId);
    expect(results.every((result) => result.error === undefined)).toBe(true);
    expectStreamedToSuccess(
      results.filter((result) => result.hasNext).map((result) => result.data!.taskUpdates),
      taskId,
    );
    expect(results.at(-1)?.data?.taskUpdates.status).toBe('SUCCEEDED');
  });

  it('a subscription to a task that does not exist ends with TASK_NOT_FOUND in CombinedError.graphQLErrors', async () => {
    const results = await watch(urqlClient(stack), 'no-such-task');
    expect(codesOf(results.at(-1)!)).toEqual(['TASK_NOT_FOUND']);
  });
});

describe('urql, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);

  it.each([
    ['no key', undefined],
    ['a wrong key', { authorization: `Bearer ${WRONG_KEY}` }],
  ])('a GET query with %s: CombinedError.graphQLErrors carries UNAUTHENTICATED', async (_name, headers) => {
    const result = await urqlClient(stack, headers ? { headers } : {}).query(READ_TASK, { id: 'demo-succeeded' }).toPromise();
    expect(result.data).toBeUndefined();
    expect(codesOf(result)).toEqual(['UNAUTHENTICATED']);
    expect((result.error?.response as Response | undefined)?.status).toBe(401);
  });

  it('with the key in fetchOptions and graphql-sse headers: creates, reads and follows a task', async () => {
    const client = urqlClient(stack, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    const created = await client.mutation(CREATE_VIDEO, { input: videoInput() }).toPromise();
    const taskId = created.data?.createReferenceVideo.taskId as string;
    expect(taskId).toEqual(expect.any(String));
    const read = await client.query(READ_TASK, { id: taskId }).toPromise();
    expect(read.data?.task?.id).toBe(taskId);
    const results = await watch(client, taskId);
    expectStreamedToSuccess(
      results.filter((result) => result.hasNext).map((result) => result.data!.taskUpdates),
      taskId,
    );
  });

  it('a subscription without a key: a networkError with the 401 status, no graphQLErrors', async () => {
    // graphql-sse treats any non-2xx answer as a network error and aborts the request before
    // reporting it, so the body with UNAUTHENTICATED cannot be read: the status is what the
    // application gets. Retries off here; by default it retries 5 times with backoff first.
    const results = await watch(urqlClient(stack, { sseRetryAttempts: 0 }), 'demo-succeeded');
    const error = results.at(-1)?.error;
    expect(error?.graphQLErrors).toEqual([]);
    expect(error?.networkError).toBeInstanceOf(NetworkError);
    expect((error?.networkError as NetworkError<Response>).response?.status).toBe(401);
    expect(error?.message).toMatch(/401/);
  });
});
