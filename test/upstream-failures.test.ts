// Every upstream error reason and fault maps to a stable code; reads retry, creates never resend.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { UPSTREAM_READ_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '1000', UPSTREAM_RETRY_AFTER_CAP_MS: '2000' },
  });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.simulator.clearFaults();
  stack.simulator.resetStats();
});

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;
const READ = 'query Read($id: ID!) { task(id: $id) { id status isTerminal } }';
const input = { prompt: '@1 runs', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };

describe('upstream 400s about the input come back as userErrors', () => {
  it.each([
    ['INVALID_REQUEST_BODY', 'INVALID_INPUT', ['input']],
    ['INVALID_IMAGE_FORMAT', 'IMAGE_REJECTED', ['input', 'subjects']],
    ['IMAGE_FILE_EXCEEDS_MAX_SIZE', 'IMAGE_REJECTED', ['input', 'subjects']],
    ['INVALID_IMAGE_SIZE', 'IMAGE_REJECTED', ['input', 'subjects']],
    ['ILLEGAL_PROMPT', 'CONTENT_REFUSED', ['input', 'prompt']],
    ['ILLEGAL_IMAGE_CONTENT', 'CONTENT_REFUSED', ['input', 'subjects']],
    ['BILLING_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE', null],
  ])('%s → %s', async (reason, code, field) => {
    stack.simulator.injectFault({ endpoint: 'create', kind: 'error', status: 400, reason, message: `upstream says ${reason}` });
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.errors).toBeUndefined();
    expect(body.data.createReferenceVideo).toEqual({ taskId: null, userErrors: [{ field, code, message: expect.any(String) }] });
    // Our words, not the upstream's raw message.
    expect(body.data.createReferenceVideo.userErrors[0].message).not.toContain('upstream says');
    expect(stack.simulator.stats().createRequests).toBe(1);
  });
});

describe('other upstream failures are GraphQL errors with a stable code', () => {
  const cases = [
    { name: '400 MISSING_API_KEY', fault: { kind: 'error', status: 400, reason: 'MISSING_API_KEY' }, code: 'UPSTREAM_AUTH_FAILED' },
    { name: '401', fault: { kind: 'error', status: 401, reason: 'UNAUTHORIZED' }, code: 'UPSTREAM_AUTH_FAILED' },
    { name: '403 INVALID_API_KEY', fault: { kind: 'error', status: 403, reason: 'INVALID_API_KEY' }, code: 'UPSTREAM_AUTH_FAILED' },
    { name: '403 API_NOT_ALLOWED', fault: { kind: 'error', status: 403, reason: 'API_NOT_ALLOWED' }, code: 'UPSTREAM_AUTH_FAILED' },
    { name: '403 BILLING_AUTH_FAILED', fault: { kind: 'error', status: 403, reason: 'BILLING_AUTH_FAILED' }, code: 'UPSTREAM_AUTH_FAILED' },
    { name: '500 CREATE_TASK_FAILED', fault: { kind: 'error', status: 500, reason: 'CREATE_TASK_FAILED' }, code: 'UPSTREAM_UNAVAILABLE' },
    { name: '502 HTML from a proxy', fault: { kind: 'html', status: 502 }, code: 'UPSTREAM_UNAVAILABLE' },
    { name: '503 with no body', fault: { kind: 'empty', status: 503 }, code: 'UPSTREAM_UNAVAILABLE' },
    { name: 'connection reset', fault: { kind: 'reset' }, code: 'UPSTREAM_UNAVAILABLE' },
    { name: '200 with truncated JSON', fault: { kind: 'malformed-json' }, code: 'UPSTREAM_BAD_RESPONSE' },
    { name: '200 without task_id', fault: { kind: 'json', status: 200, body: { ok: true } }, code: 'UPSTREAM_BAD_RESPONSE' },
    { name: '400 with an unknown reason', fault: { kind: 'error', status: 400, reason: 'SOMETHING_NEW' }, code: 'UPSTREAM_BAD_RESPONSE' },
  ] as const;

  it.each(cases)('create: $name → $code, sent once', async ({ fault, code }) => {
    stack.simulator.injectFault({ endpoint: 'create', ...fault });
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe(code);
    expect(body.errors?.[0]?.path).toEqual(['createReferenceVideo']);
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('create: 429 → RATE_LIMITED with retryAfterSeconds, not retried', async () => {
    stack.simulator.injectFault({ endpoint: 'create', kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', retryAfter: '1' });
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('create that times out is not re-sent, even though the upstream created the task', async () => {
    stack.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 2500, createTaskAnyway: true });
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('read: a 5xx that outlasts the retries → UPSTREAM_UNAVAILABLE after 1 + 2 attempts', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 503, reason: 'GET_RESULT_FAILED', times: 10 });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(body.data).toEqual({ task: null });
    expect(stack.simulator.stats().resultRequests).toBe(3);
  });

  it('read: a plain 500 is the service\'s own answer and is not retried', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 500, reason: 'GET_RESULT_FAILED', times: 10 });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(stack.simulator.stats().resultRequests).toBe(1);
  });

  it.each([
    ['reset', { kind: 'reset' }],
    ['502 HTML', { kind: 'html', status: 502 }],
    ['504 empty', { kind: 'empty', status: 504 }],
    ['429 without Retry-After', { kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED' }],
  ] as const)('read: retries after %s, then succeeds', async (_name, fault) => {
    stack.simulator.injectFault({ endpoint: 'result', times: 2, ...fault });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors).toBeUndefined();
    expect(body.data.task.status).toBe('SUCCEEDED');
    expect(stack.simulator.stats().resultRequests).toBe(3);
  });

  it('read: retries after a timeout, then succeeds', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 2500 });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.data.task.status).toBe('SUCCEEDED');
    expect(stack.simulator.stats().resultRequests).toBe(2);
  });

  it('read: timeouts on every attempt → UPSTREAM_TIMEOUT', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 2500, times: 3 });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
  }, 15_000);

  it('read: waits out a Retry-After within the cap, then succeeds', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', retryAfter: '1' });
    const started = Date.now();
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.data.task.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(stack.simulator.stats().resultRequests).toBe(2);
  });

  it('read: a Retry-After beyond the cap ends the read at once with RATE_LIMITED', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', retryAfter: '60' });
    const started = Date.now();
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(stack.simulator.stats().resultRequests).toBe(1);
  });

  it('read: a 404 without the upstream\'s TASK_NOT_FOUND is a bad response, not a missing task', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'html', status: 404 });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
  });

  it('read: an unknown upstream status is UNKNOWN and not terminal', async () => {
    stack.simulator.injectFault({
      endpoint: 'result',
      kind: 'json',
      status: 200,
      body: { task: { task_id: 'demo-succeeded', status: 'TASK_STATUS_PAUSED', reason: '' }, videos: [] },
    });
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(body.data.task).toEqual({ id: 'demo-succeeded', status: 'UNKNOWN', isTerminal: false });
  });

  it('one failing id in tasks(ids) does not fail its neighbours', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 500, reason: 'GET_RESULT_FAILED' });
    const { body } = await stack.graphql('query { tasks(ids: ["a-missing-one", "demo-failed"]) { id status } }');
    // Reads run in parallel, so which id meets the fault is not fixed; exactly one does.
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(body.data.tasks).toHaveLength(2);
  });

  it('error messages never carry upstream bodies or stack traces', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 500, reason: 'GET_RESULT_FAILED', message: 'internal db at 10.1.2.3 exploded' });
    const { text, body } = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(text).not.toContain('10.1.2.3');
    expect(text).not.toMatch(/at .+\.(ts|js):\d+/);
    expect(Object.keys(body.errors?.[0]?.extensions ?? {})).toEqual(['code']);
  });
});
