// Client keys, tenants and task ownership over real HTTP, SSE and WebSocket.
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../src/logger.js';
import { startGateway } from '../src/server.js';
import { SignedTaskIds } from '../src/auth/task-ids.js';
import { gatewayConfigFor, startStack, UPSTREAM_TEST_KEY, type Stack } from './support/stack.js';
import { dataDirForThisTest } from './support/data-dir.js';

const SHOP_KEY = 'k-shop-0123456789abcdef';
const SHOP_KEY_2 = 'k-shop-rotated-fedcba9876543210';
const STUDIO_KEY = 'k-studio-0123456789abcdef';
const ID_SECRET = 'test-id-secret-0123456789abcdef0123456789';
const AUTH_ENV = { GATEWAY_API_KEYS: `shop:${SHOP_KEY},shop:${SHOP_KEY_2},studio:${STUDIO_KEY}`, GATEWAY_ID_SECRET: ID_SECRET, TASK_CACHE_MAX_ENTRIES: '100' };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: AUTH_ENV, simulator: { taskDurationMs: 60_000 } });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.simulator.resetStats();
});

async function post(baseUrl: string, body: unknown, key?: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  // any: response shapes differ per operation; the tests check them with expect().
  return { status: response.status, json: (await response.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] } };
}

const CREATE = {
  query: 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId task { id status } } }',
  variables: { input: { prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
};
const read = (id: string) => ({ query: 'query($id: ID!) { task(id: $id) { id status } }', variables: { id } });

describe('client keys', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong key', 'k-not-a-real-key-000000'],
    ['the upstream key', UPSTREAM_TEST_KEY],
  ])('%s: HTTP 401, UNAUTHENTICATED, no upstream call', async (_name, key) => {
    const { status, json } = await post(stack.gateway.url, read('demo-succeeded'), key);
    expect(status).toBe(401);
    expect(json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const created = await post(stack.gateway.url, CREATE, key);
    expect(created.status).toBe(401);
    expect(stack.simulator.stats()).toMatchObject({ createRequests: 0, resultRequests: 0 });
  });

  it('accepts every key of a tenant (rotation) and scopes tasks to the tenant, not the key', async () => {
    const created = await post(stack.gateway.url, CREATE, SHOP_KEY);
    const id = created.json.data.createReferenceVideo.taskId as string;
    expect(created.json.data.createReferenceVideo.task.id).toBe(id);
    const again = await post(stack.gateway.url, read(id), SHOP_KEY_2);
    expect(again.json.data.task).toMatchObject({ id, status: expect.any(String) });
  });

  it('serves the GraphiQL page without a key (operations from it still need one)', async () => {
    const page = await fetch(`${stack.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
  });
});

describe('task ownership', () => {
  let shopTaskId: string;
  beforeAll(async () => {
    const created = await post(stack.gateway.url, CREATE, SHOP_KEY);
    shopTaskId = created.json.data.createReferenceVideo.taskId;
  });

  it('hands out opaque ids, not the upstream id', () => {
    expect(shopTaskId).not.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('another tenant sees null for task and tasks, with no upstream call', async () => {
    const single = await post(stack.gateway.url, read(shopTaskId), STUDIO_KEY);
    expect(single.json).toEqual({ data: { task: null } });
    const list = await post(stack.gateway.url, { query: 'query($ids: [ID!]!) { tasks(ids: $ids) { id } }', variables: { ids: [shopTaskId] } }, STUDIO_KEY);
    expect(list.json).toEqual({ data: { tasks: [null] } });
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });

  it('another tenant gets TASK_NOT_FOUND from taskUpdates (WebSocket, key in connection params)', async () => {
    const client = createWsClient({
      url: `${stack.gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${STUDIO_KEY}` },
    });
    const results: { errors?: readonly { extensions?: Record<string, unknown> }[] }[] = [];
    for await (const result of client.iterate({ query: 'subscription($id: ID!) { taskUpdates(id: $id) { id } }', variables: { id: shopTaskId } })) {
      results.push(result);
    }
    await client.dispose();
    expect(results).toHaveLength(1);
    expect(results[0]?.errors?.[0]?.extensions?.code).toBe('TASK_NOT_FOUND');
  });

  it('refuses a WebSocket connection without a valid key', async () => {
    const client = createWsClient({ url: `${stack.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: '{ __typename }' }, { next: () => {}, error: resolve, complete: () => resolve('completed') });
    });
    await client.dispose();
    expect(outcome).toMatchObject({ code: 4401, reason: 'UNAUTHENTICATED' });
  });

  it('forged ids read as null: re-signed with another secret, re-targeted to another tenant, non-canonical, garbage', async () => {
    const [payload, mac] = shopTaskId.split('.') as [string, string];
    const upstreamId = Buffer.from(payload, 'base64url').toString().split(':').slice(1).join(':');
    const forged = [
      new SignedTaskIds('another-secret-0123456789abcdef0123456').toPublic(upstreamId, { tenant: 'studio', user: null }),
      `${Buffer.from(`studio:${upstreamId}`).toString('base64url')}.${mac}`,
      `${Buffer.from(`shop:${upstreamId}`).toString('base64')}.${mac}`, // padded base64: not the canonical encoding
      `${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      upstreamId,
      'bm90LWFuLWlk.AAAAAAAAAAAAAAAAAAAAAA',
    ];
    for (const id of forged) {
      const shop = await post(stack.gateway.url, read(id), SHOP_KEY);
      const studio = await post(stack.gateway.url, read(id), STUDIO_KEY);
      expect(shop.json.data?.task ?? null, id).toBeNull();
      expect(studio.json.data?.task ?? null, id).toBeNull();
    }
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });

  it('ownership survives a restart: a new gateway with the same secret reads the same id', async () => {
    const config = gatewayConfigFor(stack.simulator.url, {
      DATA_DIR: dataDirForThisTest(),
      ...AUTH_ENV,
    });
    const restarted = await startGateway(config, createLogger(config));
    try {
      expect((await post(restarted.url, read(shopTaskId), SHOP_KEY)).json.data.task.id).toBe(shopTaskId);
      expect((await post(restarted.url, read(shopTaskId), STUDIO_KEY)).json.data.task).toBeNull();
    } finally {
      await restarted.close();
    }
  });

  it('cached responses are per tenant: the same query body from another tenant is not served from the cache', async () => {
    const shop = await post(stack.gateway.url, read(shopTaskId), SHOP_KEY);
    expect(shop.json.data.task.id).toBe(shopTaskId);
    const again = await post(stack.gateway.url, read(shopTaskId), SHOP_KEY);
    expect(again.json.data.task.id).toBe(shopTaskId);
    expect((await post(stack.gateway.url, read(shopTaskId), STUDIO_KEY)).json.data.task).toBeNull();
  });
});

describe('secrets in logs', () => {
  it('no client key, id secret or upstream key appears in any log line (trace level)', () => {
    const text = stack.logs.text();
    expect(stack.logs.lines.length).toBeGreaterThan(5);
    for (const secret of [SHOP_KEY, SHOP_KEY_2, STUDIO_KEY, ID_SECRET, UPSTREAM_TEST_KEY]) expect(text).not.toContain(secret);
  });
});
