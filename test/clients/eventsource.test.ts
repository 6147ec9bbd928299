// A WHATWG EventSource (the `eventsource` package, v3, which follows the spec) doing what a browser
// page does: a GET with the operation in the query string, `next` events until `complete`, and
// close() on `complete` (otherwise the spec's EventSource reconnects when the stream ends).
// A browser EventSource cannot send headers, so it cannot present a client key: on a keyed gateway
// it gets 401, which the spec reports as a bare `error` event, without the response body.
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { useStack, type Stack } from '../support/stack.js';
import { KEYED_GATEWAY, OPEN_GATEWAY, WATCH_TASK, createTask, expectStreamedToSuccess, graphqlUrl, type CodedError, type TaskUpdate } from './support.js';

interface NextPayload {
  data?: { taskUpdates: TaskUpdate } | null;
  errors?: CodedError[];
}

interface Watched {
  payloads: NextPayload[];
  ended: 'complete' | 'error';
  /** The `eventsource` package's extension: the HTTP status of a refused connection. */
  errorCode?: number;
  opens: number;
  readyState: number;
}

function subscriptionUrl(stack: Stack, id: string): string {
  const url = new URL(graphqlUrl(stack));
  url.searchParams.set('query', WATCH_TASK);
  url.searchParams.set('variables', JSON.stringify({ id }));
  return url.toString();
}

/** Follows one subscription until `complete` (then closes) or the first `error` event. */
function watch(url: string): Promise<Watched> {
  return new Promise((resolve) => {
    const source = new EventSource(url);
    const payloads: NextPayload[] = [];
    let opens = 0;
    source.addEventListener('open', () => opens++);
    source.addEventListener('next', (event) => payloads.push(JSON.parse(event.data) as NextPayload));
    source.addEventListener('complete', () => {
      source.close();
      resolve({ payloads, ended: 'complete', opens, readyState: source.readyState });
    });
    source.addEventListener('error', (event) => {
      // A spec EventSource reconnects after a dropped stream (readyState CONNECTING) but gives up on
      // a refused one (CLOSED); either way the test stops here.
      const readyState = source.readyState;
      source.close();
      resolve({ payloads, ended: 'error', ...(event.code === undefined ? {} : { errorCode: event.code }), opens, readyState });
    });
  });
}

describe('EventSource, open gateway', () => {
  const stack = useStack(OPEN_GATEWAY);

  it('a GET subscription streams `next` events until SUCCEEDED, then `complete`, on one connection', async () => {
    const taskId = await createTask(stack);
    const watched = await watch(subscriptionUrl(stack, taskId));
    expect(watched.ended).toBe('complete');
    expect(watched.opens).toBe(1);
    expect(watched.payloads.filter((payload) => payload.errors !== undefined)).toEqual([]);
    expectStreamedToSuccess(
      watched.payloads.map((payload) => payload.data!.taskUpdates),
      taskId,
    );
  });

  it('a task that does not exist: one `next` event with TASK_NOT_FOUND, then `complete`', async () => {
    const watched = await watch(subscriptionUrl(stack, 'no-such-task'));
    expect(watched.ended).toBe('complete');
    expect(watched.payloads).toHaveLength(1);
    expect(watched.payloads[0]?.errors?.map((error) => error.extensions?.code)).toEqual(['TASK_NOT_FOUND']);
  });
});

describe('EventSource, gateway with client keys', () => {
  const stack = useStack(KEYED_GATEWAY);

  it('cannot present a key: the connection is refused (401) and EventSource stops, without reconnecting', async () => {
    const watched = await watch(subscriptionUrl(stack, 'demo-succeeded'));
    expect(watched.ended).toBe('error');
    expect(watched.errorCode).toBe(401);
    expect(watched.opens).toBe(0);
    expect(watched.readyState).toBe(EventSource.CLOSED);
  });
});
