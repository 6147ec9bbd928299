// The typed client example (examples/typed-client): its generated files are what graphql-codegen
// makes of the committed schema.graphql today (so `tsc --noEmit` checks the example against the
// schema clients see), and its main function really creates a video and follows it to the end,
// sending document text, or persisted ids alone to a gateway in trusted-documents mode.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import type { Types } from '@graphql-codegen/plugin-helpers';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../examples/typed-client/codegen.js';
import { main } from '../examples/typed-client/main.js';
import { useStack } from './support/stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GENERATED_DIR = 'examples/typed-client/gql/';
const MANIFEST = `${ROOT}${GENERATED_DIR}persisted-documents.json`;

// Polls every 150–300 ms and a task takes 1.5 s: several updates, quickly.
const LIVE = { LIVE_POLL_MIN_INTERVAL_MS: '150', LIVE_POLL_MAX_INTERVAL_MS: '300', TASK_CACHE_PENDING_TTL_MS: '100' };
const CLIENT_KEY = 'k-example-client-0123456789abcdef';

describe('generated files', () => {
  it('are what `npm run codegen` makes of schema.graphql and the example (run it after changing either)', async () => {
    const outputs = (await generate({ ...codegenConfig, cwd: ROOT, silent: true }, false)) as Types.FileOutput[];
    const generated = Object.fromEntries(outputs.map((output) => [output.filename, output.content]));
    const committed = Object.fromEntries(readdirSync(`${ROOT}${GENERATED_DIR}`).map((name) => [`${GENERATED_DIR}${name}`, readFileSync(`${ROOT}${GENERATED_DIR}${name}`, 'utf8')]));
    expect(Object.keys(committed).sort()).toEqual(Object.keys(generated).sort());
    for (const [filename, content] of Object.entries(generated)) expect(committed[filename], filename).toBe(content);
  });
});

describe('main() against an open gateway', () => {
  const stack = useStack({ env: LIVE, simulator: { taskDurationMs: 1500 } });

  it('creates a video, follows it to SUCCEEDED and prints the video link', async () => {
    const lines: string[] = [];
    const followed = await main({ GATEWAY_URL: `${stack.gateway.url}/graphql` }, (line) => lines.push(line));
    const statuses = followed.updates.map((update) => update.status);
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    expect(statuses.slice(0, -1).every((status) => status === 'QUEUED' || status === 'PROCESSING')).toBe(true);
    expect(followed.task).toMatchObject({ id: followed.taskId, status: 'SUCCEEDED', videos: [expect.objectContaining({ format: 'MP4' })] });
    expect(lines.at(-1)).toBe(`video (MP4, until ${followed.task.videos[0]!.expiresAt}): ${followed.task.videos[0]!.url}`);
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('sending persisted ids alone to a gateway without a manifest fails with PERSISTED_QUERY_NOT_SUPPORTED, before any create', async () => {
    const attempt = main({ GATEWAY_URL: `${stack.gateway.url}/graphql`, SEND: 'persisted-id' }, () => undefined);
    await expect(attempt).rejects.toMatchObject({ name: 'GatewayError', code: 'PERSISTED_QUERY_NOT_SUPPORTED' });
    expect(stack.simulator.stats().createRequests).toBe(0);
  });
});

describe('main() against a keyed gateway in trusted-documents mode', () => {
  const stack = useStack({
    env: { ...LIVE, PERSISTED_DOCUMENTS_FILE: MANIFEST, GATEWAY_API_KEYS: `web:${CLIENT_KEY}`, GATEWAY_ID_SECRET: 'typed-client-id-secret-0123456789abcdef' },
    simulator: { taskDurationMs: 1500 },
  });

  it('sends only persisted ids (and its client key), and follows the video to the end', async () => {
    const followed = await main({ GATEWAY_URL: `${stack.gateway.url}/graphql`, GATEWAY_API_KEY: CLIENT_KEY, SEND: 'persisted-id' }, () => undefined);
    expect(followed.updates.at(-1)).toMatchObject({ status: 'SUCCEEDED', isTerminal: true });
    expect(followed.task.status).toBe('SUCCEEDED');
  });

  it('without its key it fails with the gateway code; with the text and the id, the id wins and it works', async () => {
    const url = `${stack.gateway.url}/graphql`;
    await expect(main({ GATEWAY_URL: url, SEND: 'persisted-id' }, () => undefined)).rejects.toMatchObject({ name: 'GatewayError', code: 'UNAUTHENTICATED' });
    const both = await main({ GATEWAY_URL: url, GATEWAY_API_KEY: CLIENT_KEY }, () => undefined);
    expect(both.task.status).toBe('SUCCEEDED');
  });
});
