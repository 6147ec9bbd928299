// Per-tenant create rate limits, the concurrent-create cap and Idempotency-Key, over real HTTP.
import { describe, expect, it } from 'vitest';
import { stackPerTest, type Stack } from './support/stack.js';

const SHOP = 'k-shop-0123456789abcdef';
const STUDIO = 'k-studio-0123456789abcdef';
const KEYS = { GATEWAY_API_KEYS: `shop:${SHOP},studio:${STUDIO}`, GATEWAY_ID_SECRET: 'i'.repeat(40) };

const stack = stackPerTest({ simulator: { taskDurationMs: 60_000 } });

const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { field code message } } }';
const input = (prompt = '@1 waves') => ({ prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] });

async function create(s: Stack, options: { key?: string; idempotencyKey?: string; prompt?: string } = {}) {
  const response = await fetch(`${s.gateway.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
    },
    body: JSON.stringify({ query: CREATE, variables: { input: input(options.prompt) } }),
  });
  // any: the payload or the errors, checked by each test.
  return (await response.json()) as { data?: { createReferenceVideo: any } | null; errors?: { extensions?: Record<string, unknown> }[] };
}

describe('create rate limit', () => {
  it('trips after the burst with RATE_LIMITED and retryAfterSeconds, and makes no upstream call', async () => {
    const s = await stack({ CREATE_RATE_LIMIT_BURST: '2', CREATE_RATE_LIMIT_PER_MINUTE: '1' });
    expect((await create(s)).data?.createReferenceVideo.taskId).toBeTruthy();
    expect((await create(s)).data?.createReferenceVideo.taskId).toBeTruthy();
    const third = await create(s);
    expect(third.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(third.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(50);
    expect(s.simulator.stats().createRequests).toBe(2);
  });

  it('is per tenant', async () => {
    const s = await stack({ ...KEYS, CREATE_RATE_LIMIT_BURST: '1', CREATE_RATE_LIMIT_PER_MINUTE: '1' });
    expect((await create(s, { key: SHOP })).data?.createReferenceVideo.taskId).toBeTruthy();
    expect((await create(s, { key: SHOP })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await create(s, { key: STUDIO })).data?.createReferenceVideo.taskId).toBeTruthy();
  });

  it('caps creates in flight at once', async () => {
    const s = await stack({ CREATE_MAX_CONCURRENT: '1' });
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 500 });
    const [a, b] = await Promise.all([create(s), new Promise((r) => setTimeout(r, 100)).then(() => create(s))]);
    expect(a.data?.createReferenceVideo.taskId).toBeTruthy();
    expect(b.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(s.simulator.stats().createRequests).toBe(1);
  });
});

describe('Idempotency-Key', () => {
  it('5 concurrent creates with one key make 1 upstream POST and return one task', async () => {
    const s = await stack(KEYS);
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 300 });
    const results = await Promise.all(Array.from({ length: 5 }, () => create(s, { key: SHOP, idempotencyKey: 'order-42' })));
    const ids = new Set(results.map((r) => r.data?.createReferenceVideo.taskId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeTruthy();
    expect(s.simulator.stats().createRequests).toBe(1);
  });

  it('refuses the same key with other input, and scopes keys per tenant', async () => {
    const s = await stack(KEYS);
    const first = await create(s, { key: SHOP, idempotencyKey: 'k1' });
    const other = await create(s, { key: SHOP, idempotencyKey: 'k1', prompt: '@1 runs' });
    expect(other.data?.createReferenceVideo).toEqual({ taskId: null, userErrors: [{ field: null, code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) }] });
    const studio = await create(s, { key: STUDIO, idempotencyKey: 'k1' });
    expect(studio.data?.createReferenceVideo.taskId).toBeTruthy();
    expect(studio.data?.createReferenceVideo.taskId).not.toBe(first.data?.createReferenceVideo.taskId);
    expect(s.simulator.stats().createRequests).toBe(2);
  });

  it('a replay costs no rate-limit token', async () => {
    const s = await stack({ CREATE_RATE_LIMIT_BURST: '1', CREATE_RATE_LIMIT_PER_MINUTE: '1' });
    const first = await create(s, { idempotencyKey: 'once' });
    const again = await create(s, { idempotencyKey: 'once' });
    expect(again.data?.createReferenceVideo.taskId).toBe(first.data?.createReferenceVideo.taskId);
    expect((await create(s, { idempotencyKey: 'another' })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('an upstream refusal with an error body frees the key for a retry', async () => {
    const s = await stack({});
    s.simulator.injectFault({ endpoint: 'create', kind: 'error', status: 400, reason: 'ILLEGAL_PROMPT' });
    const refused = await create(s, { idempotencyKey: 'retry-me' });
    expect(refused.data?.createReferenceVideo.userErrors[0].code).toBe('CONTENT_REFUSED');
    const retried = await create(s, { idempotencyKey: 'retry-me' });
    expect(retried.data?.createReferenceVideo.taskId).toBeTruthy();
    expect(s.simulator.stats().createRequests).toBe(2);
  });

  it('an outcome that is unknown (timeout) keeps the key: a replay gets the same error and sends nothing', async () => {
    const s = await stack({ UPSTREAM_TIMEOUT_MS: '1000' });
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 2500, createTaskAnyway: true });
    const first = await create(s, { idempotencyKey: 'maybe' });
    expect(first.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    const replay = await create(s, { idempotencyKey: 'maybe' });
    expect(replay.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    expect(s.simulator.stats().createRequests).toBe(1);
  }, 15_000);

  it('a client that leaves mid-create keeps its key: a replay answers CREATE_OUTCOME_UNKNOWN and sends nothing', async () => {
    const s = await stack({});
    s.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 1500 });
    const leaving = new AbortController();
    const first = fetch(`${s.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'left-early' },
      body: JSON.stringify({ query: CREATE, variables: { input: input() } }),
      signal: leaving.signal,
    }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    leaving.abort();
    expect(await first).toBe('aborted');
    await expect.poll(async () => (await create(s, { idempotencyKey: 'left-early' })).errors?.[0]?.extensions?.code, { timeout: 3000 }).toBe('CREATE_OUTCOME_UNKNOWN');
    expect(s.simulator.stats().createRequests).toBe(1);
  });

  it('a create refused before the upstream (rate limit) frees its key', async () => {
    const s = await stack({ CREATE_RATE_LIMIT_BURST: '1', CREATE_RATE_LIMIT_PER_MINUTE: '60' });
    await create(s);
    expect((await create(s, { idempotencyKey: 'later' })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await create(s, { idempotencyKey: 'later' })).data?.createReferenceVideo.taskId).toBeTruthy();
  });

  it('refuses a malformed Idempotency-Key with BAD_USER_INPUT', async () => {
    const s = await stack({});
    const result = await create(s, { idempotencyKey: 'x'.repeat(300) });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'Idempotency-Key' });
    expect(s.simulator.stats().createRequests).toBe(0);
  });
});
