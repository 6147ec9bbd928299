// The CSRF threat model (README, "CSRF") over real HTTP: every client's defaults work without a
// special header, and no request a browser can send cross-site without a preflight (a form post, a
// plain GET, a WebSocket from another site) can create a video.
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { stackPerTest } from './support/stack.js';

const stack = stackPerTest();

const CREATE = `mutation { createReferenceVideo(input: { prompt: "@1 waves", subjects: [{ id: "1", images: ["https://example.com/a.png"] }] }) { taskId } }`;
const KEY = 'client-key-for-csrf-tests-0123456789';

async function post(url: string, contentType: string, body: string | FormData, headers: Record<string, string> = {}) {
  const init: RequestInit = { method: 'POST', headers: { accept: 'application/graphql-response+json', ...headers }, body };
  // fetch picks the multipart boundary itself for FormData.
  if (!(body instanceof FormData)) (init.headers as Record<string, string>)['content-type'] = contentType;
  const response = await fetch(`${url}/graphql`, init);
  return { status: response.status, text: await response.text() };
}

describe('what forms and plain GETs can do', () => {
  it('runs a GET query and a GET subscription with no special header (urql, GraphiQL, EventSource)', async () => {
    const s = await stack();
    const query = await fetch(`${s.gateway.url}/graphql?query=${encodeURIComponent('{ task(id: "demo-succeeded") { status } }')}`);
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { task: { status: 'SUCCEEDED' } } });

    const subscription = await fetch(`${s.gateway.url}/graphql?query=${encodeURIComponent('subscription { taskUpdates(id: "demo-succeeded") { status } }')}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(subscription.status).toBe(200);
    const events = await subscription.text();
    expect(events).toContain('"status":"SUCCEEDED"');
    expect(events).toContain('event: complete');
  });

  it.each([
    ['application/x-www-form-urlencoded', new URLSearchParams({ query: CREATE }).toString()],
    ['text/plain', JSON.stringify({ query: CREATE })],
    ['text/plain;charset=UTF-8', JSON.stringify({ query: CREATE })],
  ])('refuses a mutation posted as %s, and no create reaches the upstream', async (contentType, body) => {
    const s = await stack();
    const answer = await post(s.gateway.url, contentType, body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(JSON.parse(answer.text).errors[0].extensions.code).toEqual(expect.any(String));
    expect(s.simulator.stats().createRequests).toBe(0);
  });

  it('answers a form-posted mutation with 403 PREFLIGHT_REQUIRED', async () => {
    const s = await stack();
    const answer = await post(s.gateway.url, 'application/x-www-form-urlencoded', new URLSearchParams({ query: CREATE }).toString());
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text).errors[0].extensions).toEqual({ code: 'PREFLIGHT_REQUIRED' });
  });

  it('refuses a mutation in a multipart form', async () => {
    const s = await stack();
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: CREATE }));
    form.set('map', '{}');
    const answer = await post(s.gateway.url, '', form);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(s.simulator.stats().createRequests).toBe(0);
  });

  it('still runs a query sent as a form: it changes nothing and its answer is not readable cross-site', async () => {
    const s = await stack();
    const answer = await post(s.gateway.url, 'application/x-www-form-urlencoded', new URLSearchParams({ query: '{ task(id: "demo-succeeded") { status } }' }).toString());
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).data.task.status).toBe('SUCCEEDED');
  });

  it('runs a mutation sent as JSON, or as a form with the client key', async () => {
    const s = await stack();
    expect((await s.graphql(CREATE)).body.data.createReferenceVideo.taskId).toEqual(expect.any(String));
    const keyed = await stack({ GATEWAY_API_KEYS: `shop:${KEY}`, GATEWAY_ID_SECRET: 'csrf-test-id-secret-0123456789abcdef' });
    const withKey = await post(keyed.gateway.url, 'application/x-www-form-urlencoded', new URLSearchParams({ query: CREATE }).toString(), {
      authorization: `Bearer ${KEY}`,
    });
    expect(withKey.status).toBe(200);
    expect(keyed.simulator.stats().createRequests).toBe(1);
  });

  it('with client keys on, a form post (which cannot carry the key) gets 401 and creates nothing', async () => {
    const s = await stack({ GATEWAY_API_KEYS: `shop:${KEY}`, GATEWAY_ID_SECRET: 'csrf-test-id-secret-0123456789abcdef' });
    const answer = await post(s.gateway.url, 'application/x-www-form-urlencoded', new URLSearchParams({ query: CREATE }).toString());
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(s.simulator.stats().createRequests).toBe(0);
  });
});

describe('origins', () => {
  it('in development without CORS_ORIGINS, allows loopback origins only', async () => {
    const s = await stack();
    const preflight = (origin: string) =>
      fetch(`${s.gateway.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin')).toBe(origin);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('refuses a WebSocket from a page on another site, and runs no mutation through it', async () => {
    const s = await stack();
    const wsUrl = s.gateway.url.replace('http', 'ws') + '/graphql';
    const opened = (headers: Record<string, string>) =>
      new Promise<number | 'open'>((resolve) => {
        const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
        socket.once('open', () => {
          socket.close();
          resolve('open');
        });
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('error', () => undefined);
      });
    expect(await opened({ origin: 'https://evil.example' })).toBe(403);
    expect(await opened({})).toBe('open');
    expect(await opened({ origin: 'http://localhost:5173' })).toBe('open');
    // A page served by the gateway itself (Origin matches Host) may connect.
    expect(await opened({ origin: s.gateway.url })).toBe('open');
    expect(s.simulator.stats().createRequests).toBe(0);
  });

  it('with CORS_ORIGINS set, allows exactly those origins', async () => {
    const s = await stack({ CORS_ORIGINS: 'https://app.example' });
    const get = (origin: string) => fetch(`${s.gateway.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { origin } });
    const allowed = await get('https://app.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    // The answer depends on the Origin: shared caches must key on it.
    expect(allowed.headers.get('vary')).toMatch(/(^|,\s*)Origin(\s*,|$)/i);
    expect((await get('https://other.example')).headers.get('vary')).toMatch(/Origin/i);
    expect((await get('http://localhost:5173')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
