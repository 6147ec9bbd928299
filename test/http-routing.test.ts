// The key is checked for every request that can reach GraphQL, whatever the spelling of its path or
// request line, and no answer ever carries a stack trace. Raw sockets, so the request line is sent
// exactly as written (fetch would normalise it first).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const KEY = 'k-shop-0123456789abcdef';
const ID_SECRET = 'test-id-secret-0123456789abcdef0123456789';
const CREATE_MUTATION = 'mutation($i: CreateReferenceVideoInput!) { createReferenceVideo(input: $i) { taskId } }';
const CREATE = JSON.stringify({
  query: 'mutation($i: CreateReferenceVideoInput!) { createReferenceVideo(input: $i) { taskId } }',
  variables: { i: { prompt: '@1 x', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
});

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Sends one request exactly as written and reads the whole answer (the connection is closed after it). */
function rawRequest(baseUrl: string, requestLine: string, headers: Record<string, string>, body = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') });
    });
    const lines = [requestLine, `host: ${hostname}:${port}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body !== '') lines.push(`content-length: ${Buffer.byteLength(body)}`);
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

function expectNoStack(response: RawResponse): void {
  expect(response.body).not.toMatch(/\n\s+at |node_modules|\/work\/|\.ts:\d+/);
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_API_KEYS: `shop:${KEY}`, GATEWAY_ID_SECRET: ID_SECRET, NODE_ENV: 'production', CORS_ORIGINS: '' },
    simulator: { taskDurationMs: 60_000 },
  });
});
afterAll(async () => {
  await stack.close();
});

describe('authentication whatever the request line says', () => {
  const variants = ['/graphql/', '//graphql', '/./graphql', '/x/../graphql', '/graphql#x', '/GRAPHQL', '/%67raphql', '/graphql%2F', '/graphql/.', '/graphql;x'];

  it.each(variants)('POST %s without a key reaches no GraphQL and starts nothing upstream', async (path) => {
    const before = stack.simulator.stats().createRequests;
    const response = await rawRequest(stack.gateway.url, `POST ${path} HTTP/1.1`, { 'content-type': 'application/json' }, CREATE);
    expect(response.status).not.toBe(200);
    expect([400, 401, 404]).toContain(response.status);
    expectNoStack(response);
    expect(stack.simulator.stats().createRequests).toBe(before);
  });

  it.each([
    ['absolute-form', 'POST http://x/graphql HTTP/1.1'],
    ['absolute-form with dot segments', 'POST http://x/y/../graphql HTTP/1.1'],
  ])('%s without a key: 401 UNAUTHENTICATED, no stack', async (_name, line) => {
    const response = await rawRequest(stack.gateway.url, line, { 'content-type': 'application/json' }, CREATE);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expectNoStack(response);
  });

  it('absolute-form with a key is served like origin-form', async () => {
    const response = await rawRequest(stack.gateway.url, 'POST http://x/graphql HTTP/1.1', { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, '{"query":"{ __typename }"}');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it.each(['POST * HTTP/1.1', 'OPTIONS * HTTP/1.1', 'POST x/graphql HTTP/1.1', 'POST http://[bad/graphql HTTP/1.1'])('%s: 400 with a coded error, no stack', async (line) => {
    const response = await rawRequest(stack.gateway.url, line, { 'content-type': 'application/json' }, CREATE);
    expect(response.status).toBe(400);
    expectNoStack(response);
  });

  it('with GraphiQL off, a GET that asks for HTML still needs a key and runs nothing', async () => {
    const query = encodeURIComponent('{ __typename }');
    const response = await rawRequest(stack.gateway.url, `GET /graphql?query=${query} HTTP/1.1`, { accept: 'text/html' });
    expect(response.status).toBe(401);
  });

  it('health and readiness answer without a key; other paths are not found', async () => {
    expect((await fetch(`${stack.gateway.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.gateway.url}/ready`)).status).toBe(200);
    const other = await fetch(`${stack.gateway.url}/graphiql`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
  });
});

describe('error answers echo nothing the client sent', () => {
  it('malformed JSON: 400 BAD_REQUEST without any of the body', async () => {
    const secretish = 'SECRET-LOOKING-BODY-0123456789';
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: `{"query": "${secretish}`,
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toContain(secretish);
    expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('error answers quote little of what was sent', () => {
  const big = 'Z'.repeat(2_000_000);
  const subjects = [{ id: '1', images: ['https://example.com/a.png'] }];
  it.each([
    ['a 2 MB string where an enum belongs (variable)', CREATE_MUTATION, { i: { prompt: '@1 x', resolution: big, subjects } }],
    ['a 2 MB string where an Int belongs (variable)', CREATE_MUTATION, { i: { prompt: '@1 x', durationSeconds: big, subjects } }],
    ['a 2 MB string where an Int belongs (literal)', `mutation { createReferenceVideo(input: { prompt: "a", durationSeconds: "${big}", subjects: [] }) { taskId } }`, {}],
    ['a 2 MB name', `{ ${big} }`, {}],
    // graphql-js's "Did you mean" over a value this long took seconds and ~800 MB; quoting it twice overflowed a regex.
    ['a 10 MB string where an enum belongs (variable)', CREATE_MUTATION, { i: { prompt: '@1 x', resolution: 'Z'.repeat(10_000_000), subjects } }],
    ['a 10 MB string where an Int belongs (variable)', CREATE_MUTATION, { i: { prompt: '@1 x', durationSeconds: 'Z'.repeat(10_000_000), subjects } }],
  ])('%s: a small answer with a coded error', async (_name, query, variables) => {
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    expect(text.length).toBeLessThan(5000);
    const code = JSON.parse(text).errors[0].extensions.code as string;
    expect(code).toEqual(expect.any(String));
    expect(code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(stack.simulator.stats().createRequests).toBe(0);
  });
});

describe('CORS in production', () => {
  it('CORS_ORIGINS unset allows no origin: a preflight from an unlisted origin gets no allow headers', async () => {
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('a listed origin is allowed, and only that one', async () => {
    const listed = await startStack({ env: { NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', CORS_ORIGINS: 'https://app.example,https://admin.example' } });
    try {
      const preflight = (origin: string) =>
        fetch(`${listed.gateway.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const read = await fetch(`${listed.gateway.url}/graphql`, {
        method: 'POST',
        headers: { origin: 'https://admin.example', 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
      });
      expect(read.headers.get('access-control-allow-origin')).toBe('https://admin.example');
      expect(read.headers.get('access-control-expose-headers')).toContain('x-request-id');
    } finally {
      await listed.close();
    }
  });
});
