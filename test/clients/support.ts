// What the client-library suites share: the operations a frontend sends, the gateway settings that
// make a task stream quickly, a keyed gateway's environment, and the checks every subscription
// must pass. The stack itself comes from test/support/stack.ts.
import { expect } from 'vitest';
import type { Stack, StackOptions } from '../support/stack.js';

/** A client key of the keyed gateway (tenant "web"), as a frontend would hold it. */
export const CLIENT_KEY = 'k-web-client-0123456789abcdef';
export const WRONG_KEY = 'k-web-client-not-a-real-key-00';

/**
 * Polls a watched task every 150–300 ms (the defaults wait at least 1 s), and a task takes 2 s to
 * succeed: long enough that a subscription opened right after the create sees it pending first.
 */
const LIVE_ENV = { LIVE_POLL_MIN_INTERVAL_MS: '150', LIVE_POLL_MAX_INTERVAL_MS: '300', TASK_CACHE_PENDING_TTL_MS: '100' };
export const OPEN_GATEWAY: StackOptions = { env: LIVE_ENV, simulator: { taskDurationMs: 2000 } };
export const KEYED_GATEWAY: StackOptions = {
  env: { ...LIVE_ENV, GATEWAY_API_KEYS: `web:${CLIENT_KEY}`, GATEWAY_ID_SECRET: 'client-suite-id-secret-0123456789abcdef' },
  simulator: { taskDurationMs: 2000 },
};

export const graphqlUrl = (stack: Stack): string => `${stack.gateway.url}/graphql`;
export const webSocketUrl = (stack: Stack): string => `${stack.gateway.url.replace(/^http/, 'ws')}/graphql`;

export const READ_TASK = 'query ReadTask($id: ID!) { task(id: $id) { id status isTerminal } }';
export const CREATE_VIDEO =
  'mutation CreateVideo($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { field code message } } }';
export const WATCH_TASK = 'subscription WatchTask($id: ID!) { taskUpdates(id: $id) { id status isTerminal progressPercent } }';

export const videoInput = () => ({ prompt: '@1 waves at the camera', subjects: [{ id: '1', images: ['https://example.com/alice.png'] }] });

export interface TaskUpdate {
  id: string;
  status: string;
  isTerminal: boolean;
  progressPercent: number | null;
}

/** A coded GraphQL error as the gateway sends it. */
export interface CodedError {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

/** Creates a task on an open gateway, outside the client under test. */
export async function createTask(stack: Stack): Promise<string> {
  const { body } = await stack.graphql(CREATE_VIDEO, { input: videoInput() });
  return body.data.createReferenceVideo.taskId as string;
}

/** What an observer saw: the values in order, and how the stream ended. */
export interface Observed<T> {
  values: T[];
  ended: 'complete' | 'error';
  error?: unknown;
}

/** How a `taskUpdates` subscription went, for clients whose API hands over unwrapped updates. */
export interface WatchedUpdates {
  updates: TaskUpdate[];
  ended: 'complete' | 'error';
  error?: unknown;
}

/**
 * Drives a `subscribe(sink) => dispose` API (graphql-ws, graphql-sse) until it completes or fails.
 * The promise settles only on the library's own complete or error: a stream that never ends fails
 * the test on its timeout.
 */
export function observe<T>(subscribe: (sink: { next(value: T): void; error(error: unknown): void; complete(): void }) => () => void): Promise<Observed<T>> {
  return new Promise((resolve) => {
    const values: T[] = [];
    subscribe({
      next: (value) => values.push(value),
      error: (error) => resolve({ values, ended: 'error', error }),
      complete: () => resolve({ values, ended: 'complete' }),
    });
  });
}

const STATUS_ORDER = ['QUEUED', 'PROCESSING', 'SUCCEEDED'];

/**
 * The events of one `taskUpdates` stream for a new task: it was seen pending, never went
 * backwards, and its last event is the terminal SUCCEEDED state.
 */
export function expectStreamedToSuccess(updates: readonly TaskUpdate[], taskId: string): void {
  expect(updates.length).toBeGreaterThanOrEqual(2);
  for (const update of updates) expect(update.id).toBe(taskId);
  const ranks = updates.map((update) => STATUS_ORDER.indexOf(update.status));
  expect(ranks.every((rank) => rank >= 0)).toBe(true);
  expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  expect(updates[0]?.isTerminal).toBe(false);
  expect(updates.at(-1)).toMatchObject({ status: 'SUCCEEDED', isTerminal: true, progressPercent: 100 });
}

/**
 * The global fetch, noting each request's method: a client's own `fetch` option takes it, so a test
 * can tell a GET query from a POST without changing what the client sends.
 */
export function methodRecordingFetch(): { fetch: typeof fetch; methods: string[] } {
  const methods: string[] = [];
  const recording: typeof fetch = (input, init) => {
    methods.push(init?.method ?? (input instanceof Request ? input.method : 'GET'));
    return fetch(input, init);
  };
  return { fetch: recording, methods };
}
