// The upstream key never leaves the gateway, and unexpected errors are masked, in development too.
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createErrorMasker, INTERNAL_ERROR_MESSAGE } from '../src/schema/errors.js';
import { LogCapture, startStack, UPSTREAM_TEST_KEY, type Stack } from './support/stack.js';

describe('the upstream key', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { NODE_ENV: 'development', UPSTREAM_READ_RETRIES: '1', UPSTREAM_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('appears in no response and no log line, across success and every failure path (trace logging)', async () => {
    const input = { prompt: '@1 jumps', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
    const create = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { code } task { id status } } }';
    const read = 'query($id: ID!) { task(id: $id) { id status videos { url } } }';
    await stack.graphql(create, { input });
    await stack.graphql(read, { id: 'demo-succeeded' });
    const faults = [
      { kind: 'error', status: 403, reason: 'INVALID_API_KEY' },
      { kind: 'error', status: 400, reason: 'MISSING_API_KEY' },
      { kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', retryAfter: '999' },
      { kind: 'html', status: 502 },
      { kind: 'malformed-json' },
      { kind: 'reset' },
      { kind: 'pass', delayMs: 2200 },
    ] as const;
    for (const fault of faults) {
      stack.simulator.injectFault({ endpoint: 'any', times: 2, ...fault });
      await stack.graphql(create, { input });
      stack.simulator.clearFaults();
      stack.simulator.injectFault({ endpoint: 'any', times: 2, ...fault });
      await stack.graphql(read, { id: 'demo-succeeded' });
      stack.simulator.clearFaults();
    }
    // The GraphiQL page and a malformed request are responses too.
    const page = await fetch(`${stack.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain(UPSTREAM_TEST_KEY);
    const junk = await fetch(`${stack.gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(await junk.text()).not.toContain(UPSTREAM_TEST_KEY);

    expect(stack.logs.lines.length).toBeGreaterThan(10);
    expect(stack.logs.text()).not.toContain(UPSTREAM_TEST_KEY);
  }, 30_000);
});

describe('error masking', () => {
  it('masks an unexpected error: fixed message, INTERNAL_SERVER_ERROR, no stack, the real error only in the log', () => {
    const logs = new LogCapture();
    const mask = createErrorMasker(createLogger({ logLevel: 'debug' }, logs.stream));
    const wrapped = new GraphQLError('db password is hunter2', { originalError: new Error('db password is hunter2'), path: ['task'] });
    const masked = mask(wrapped, INTERNAL_ERROR_MESSAGE, true) as GraphQLError;
    expect(masked.message).toBe(INTERNAL_ERROR_MESSAGE);
    expect(masked.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(masked.path).toEqual(['task']);
    expect(JSON.stringify(masked.toJSON())).not.toContain('hunter2');
    expect(logs.text()).toContain('hunter2');
  });

  it('lets errors made for clients through unchanged', () => {
    const mask = createErrorMasker(createLogger({ logLevel: 'silent' }));
    const clientError = new GraphQLError('ids may hold at most 100 ids.', { extensions: { code: 'BAD_USER_INPUT' } });
    expect(mask(clientError, INTERNAL_ERROR_MESSAGE, false)).toBe(clientError);
  });
});
