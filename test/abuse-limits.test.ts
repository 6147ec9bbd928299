// Abusive operations are refused before they cost anything; production hides the schema; the
// GraphQL-over-HTTP conformance audits pass.
import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { stackPerTest } from './support/stack.js';

const stack = stackPerTest();

describe('operation limits', () => {
  it('refuses 1,000 aliases of a real field with no upstream call', async () => {
    const s = await stack();
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: task(id: "demo-succeeded") { status }`).join(' ')} }`;
    const { body } = await s.graphql(query);
    expect(body.data).toBeUndefined();
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(s.simulator.stats().resultRequests).toBe(0);
  });

  it('reads at most OPERATION_MAX_TASK_READS distinct tasks per operation, whatever the shape', async () => {
    const s = await stack();
    const ids = (prefix: string) => Array.from({ length: 100 }, (_, i) => `${prefix}-${i}`);
    const { body } = await s.graphql('query($a: [ID!]!, $b: [ID!]!) { a: tasks(ids: $a) { id } b: tasks(ids: $b) { id } }', { a: ids('a'), b: ids('b') });
    expect(s.simulator.stats().resultRequests).toBe(100);
    expect(body.errors?.length).toBe(100);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_READS', maxTaskReads: 100 });
  });

  it('refuses a document with thousands of tokens', async () => {
    const s = await stack();
    const { body } = await s.graphql(`{ task(id: "demo-succeeded") { ${'status '.repeat(3000)} } }`);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/token/i);
    expect(s.simulator.stats().resultRequests).toBe(0);
  });

  it('refuses a document nested deeper than GRAPHQL_MAX_DEPTH', async () => {
    const s = await stack({ GRAPHQL_MAX_DEPTH: '2' });
    const { body } = await s.graphql('{ task(id: "demo-succeeded") { videos { url } } }');
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('turns batching off: a JSON array of operations is refused', async () => {
    const s = await stack();
    const response = await fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(response.status).toBe(400);
  });

});

describe('exposure', () => {
  it('in production: no GraphiQL, no introspection, unless asked for', async () => {
    const prod = await stack({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true' });
    const page = await fetch(`${prod.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    const introspection = await prod.graphql('{ __schema { types { name } } }');
    expect(introspection.body.errors?.length).toBeGreaterThan(0);

    const open = await stack({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true', GRAPHIQL_ENABLED: 'true', GRAPHQL_INTROSPECTION: 'true' });
    expect(await (await fetch(`${open.gateway.url}/graphql`, { headers: { accept: 'text/html' } })).text()).toMatch(/graphiql/i);
    expect((await open.graphql('{ __schema { types { name } } }')).body.data.__schema.types.length).toBeGreaterThan(5);
  });

  it('answers CORS only for the configured origins', async () => {
    const s = await stack({ CORS_ORIGINS: 'https://app.example.com' });
    const preflight = (origin: string) =>
      fetch(`${s.gateway.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect((await preflight('https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    // A browser only lets a page read the answer when the allowed origin is its own.
    expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).not.toBe('https://evil.example.net');
  });

  it('lets an allowed origin read the gateway\'s own 401 and 413 answers, and no other origin', async () => {
    const s = await stack({
      CORS_ORIGINS: 'https://app.example.com',
      GATEWAY_API_KEYS: 'shop:k-shop-0123456789abcdef',
      GATEWAY_ID_SECRET: 'c'.repeat(40),
      REQUEST_MAX_BODY_BYTES: '2048',
    });
    const post = (origin: string, body: string, key?: string) =>
      fetch(`${s.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body,
      });
    const unauthenticated = await post('https://app.example.com', '{"query":"{ __typename }"}');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const tooLarge = await post('https://app.example.com', JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(4096) }), 'k-shop-0123456789abcdef');
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await post('https://evil.example.net', '{"query":"{ __typename }"}')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('GraphQL over HTTP conformance (graphql-http audits)', () => {
  it('passes every MUST', async () => {
    const s = await stack();
    const audits = serverAudits({ url: `${s.gateway.url}/graphql` });
    const failed: string[] = [];
    for (const audit of audits) {
      if (!audit.name.startsWith('MUST')) continue;
      const result = await audit.fn();
      if (result.status !== 'ok') failed.push(`${audit.name}: ${result.reason}`);
    }
    expect(failed).toEqual([]);
  });
});
