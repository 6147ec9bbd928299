// Request ids, health and readiness.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let keyed: Stack;
beforeAll(async () => {
  stack = await startStack();
  keyed = await startStack({ env: { GATEWAY_API_KEYS: 'shop:k-shop-0123456789abcdef', GATEWAY_ID_SECRET: 'x'.repeat(40) } });
});
afterAll(async () => {
  await Promise.all([stack.close(), keyed.close()]);
});

const ask = (headers: Record<string, string>) =>
  fetch(`${stack.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: '{ task(id: "demo-succeeded") { status } }' }),
  });

describe('request ids', () => {
  it('echoes a sane X-Request-Id and puts it on every log line of that request, upstream ones included', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503 });
    const response = await ask({ 'x-request-id': 'req-abc.123' });
    expect(response.headers.get('x-request-id')).toBe('req-abc.123');
    const lines = stack.logs.lines.map((line) => JSON.parse(line) as { requestId?: string; component?: string; msg: string });
    const upstreamLines = lines.filter((line) => line.component === 'upstream' && line.requestId === 'req-abc.123');
    expect(upstreamLines.map((line) => line.msg)).toContain('upstream answered with an error');
  });

  it('makes up an id when none or a dangerous one is given', async () => {
    const cases: Record<string, string>[] = [{}, { 'x-request-id': 'has space\tand tab' }, { 'x-request-id': 'x'.repeat(200) }];
    for (const headers of cases) {
      const response = await ask(headers);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('gives 401 responses a request id too', async () => {
    const response = await fetch(`${keyed.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('health and readiness', () => {
  it('/health and /ready answer 200 without a client key', async () => {
    expect((await fetch(`${keyed.gateway.url}/health`)).status).toBe(200);
    expect((await fetch(`${keyed.gateway.url}/ready`)).status).toBe(200);
  });
});

describe('/metrics', () => {
  it('exposes operations, upstream calls, retries, cache lookups and live gauges, with no tenant or key in it', async () => {
    const s = await startStack({ env: { GATEWAY_API_KEYS: 'shop:k-shop-0123456789abcdef', GATEWAY_ID_SECRET: 'x'.repeat(40), TASK_CACHE_MAX_ENTRIES: '100', METRICS_TOKEN: 'metrics-token-123' } });
    try {
      const auth = { authorization: 'Bearer k-shop-0123456789abcdef', 'content-type': 'application/json' };
      const created = await fetch(`${s.gateway.url}/graphql`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ query: 'mutation { createReferenceVideo(input: { prompt: "@1 hi", subjects: [{ id: "1", images: ["https://e.com/a.png"] }] }) { taskId } }' }),
      });
      const id = ((await created.json()) as { data: { createReferenceVideo: { taskId: string } } }).data.createReferenceVideo.taskId;
      s.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503 });
      const read = JSON.stringify({ query: 'query($id: ID!) { task(id: $id) { status } }', variables: { id } });
      await fetch(`${s.gateway.url}/graphql`, { method: 'POST', headers: auth, body: read });
      await fetch(`${s.gateway.url}/graphql`, { method: 'POST', headers: auth, body: read });

      expect((await fetch(`${s.gateway.url}/metrics`)).status).toBe(401);
      const response = await fetch(`${s.gateway.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-123' } });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toMatch(/gateway_graphql_operations_total\{operation="createReferenceVideo",outcome="ok"\} 1/);
      expect(text).toMatch(/gateway_graphql_operations_total\{operation="task",outcome="ok"\} 1/);
      expect(text).toMatch(/gateway_graphql_operations_total\{operation="task",outcome="cached"\} 1/);
      expect(text).toMatch(/gateway_upstream_requests_total\{endpoint="create",status="200"\} 1/);
      expect(text).toMatch(/gateway_upstream_requests_total\{endpoint="task-result",status="503"\} 1/);
      expect(text).toMatch(/gateway_upstream_retries_total\{endpoint="task-result"\} 1/);
      expect(text).toMatch(/gateway_cache_lookups_total\{cache="response",result="hit"\} 1/);
      expect(text).toMatch(/gateway_cache_lookups_total\{cache="task",result="miss"\} 1/);
      expect(text).toMatch(/gateway_graphql_operation_duration_seconds_bucket/);
      expect(text).toMatch(/gateway_active_subscriptions 0/);
      expect(text).toMatch(/gateway_active_pollers 0/);
      for (const secret of ['shop', 'k-shop-0123456789abcdef', id]) expect(text).not.toContain(secret);
    } finally {
      await s.close();
    }
  });
});
