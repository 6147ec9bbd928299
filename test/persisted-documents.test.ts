// Persisted operations (trusted documents), with the manifest graphql-codegen generates for the
// typed client example (examples/typed-client/gql/persisted-documents.json), over real HTTP and
// WebSocket: ids as Apollo (extensions.persistedQuery), Relay (doc_id) and the GraphQL-over-HTTP
// appendix (documentId) send them, in POST bodies and GET query strings.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import type { FormattedExecutionResult } from 'graphql';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { persistedIdOf } from '../examples/typed-client/gateway-client.js';
import { CreateVideoDocument, FollowTaskDocument, ReadTaskDocument } from '../examples/typed-client/gql/graphql.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { useStack, type GraphQLResult, type Stack } from './support/stack.js';

const MANIFEST = fileURLToPath(new URL('../examples/typed-client/gql/persisted-documents.json', import.meta.url));
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;

// The ids the generated documents carry, in the forms the clients send them.
const READ_TASK_ID = persistedIdOf(ReadTaskDocument); // sha256:<hex>, as codegen writes it
const READ_TASK_HEX = READ_TASK_ID.replace(/^sha256:/, ''); // what Apollo's link puts in sha256Hash
const CREATE_VIDEO_ID = persistedIdOf(CreateVideoDocument);
const FOLLOW_TASK_ID = persistedIdOf(FollowTaskDocument);
const UNKNOWN_ID = `sha256:${'0'.repeat(64)}`;
const ARBITRARY_READ = 'query { task(id: "demo-succeeded") { id status } }';

const input = { prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
const apq = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

async function post(stack: Stack, body: Record<string, unknown>): Promise<GraphQLResult> {
  const response = await fetch(`${stack.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as GraphQLResult['body'], text };
}

async function get(stack: Stack, params: Record<string, unknown>): Promise<GraphQLResult> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  const response = await fetch(`${stack.gateway.url}/graphql?${search.toString()}`, { headers: { accept: 'application/graphql-response+json' } });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as GraphQLResult['body'], text };
}

const codeOf = (result: GraphQLResult) => result.body.errors?.[0]?.extensions?.code;

async function responseCacheLookups(stack: Stack): Promise<{ hit: number; miss: number }> {
  const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  const count = (result: string) => Number(new RegExp(`gateway_cache_lookups_total\\{cache="response",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss') };
}

/** Runs one operation over graphql-ws and returns every result, or the refusal it ended with. */
async function overWebSocket(stack: Stack, payload: { query: string } & Record<string, unknown>): Promise<{ results: FormattedExecutionResult<Record<string, unknown>, unknown>[]; refusal?: unknown }> {
  const client = createWsClient({ url: `${stack.gateway.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const results: FormattedExecutionResult<Record<string, unknown>, unknown>[] = [];
  try {
    for await (const result of client.iterate(payload)) results.push(result);
    return { results };
  } catch (refusal) {
    return { results, refusal };
  } finally {
    await client.dispose();
  }
}

describe('the generated manifest', () => {
  it('is what the client preset writes: sha256:<hex> ids of the exact document text', () => {
    expect(Object.keys(manifest).sort()).toEqual([CREATE_VIDEO_ID, FOLLOW_TASK_ID, READ_TASK_ID].sort());
    for (const [id, text] of Object.entries(manifest)) {
      expect(id).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    }
  });
});

describe('trusted documents (PERSISTED_DOCUMENTS_FILE, text refused)', () => {
  // The response cache on, so repeats of a persisted read are answered before Yoga.
  const stack = useStack({ env: { PERSISTED_DOCUMENTS_FILE: MANIFEST, TASK_CACHE_MAX_ENTRIES: '1000' } });

  it('runs a mutation named by documentId (POST), and a read by Apollo sha256Hash, Relay doc_id and documentId', async () => {
    const created = await post(stack, { documentId: CREATE_VIDEO_ID, variables: { input } });
    expect(created.status).toBe(200);
    expect(created.body.data.createReferenceVideo).toMatchObject({ taskId: expect.any(String), userErrors: [] });
    const taskId = created.body.data.createReferenceVideo.taskId as string;

    for (const body of [
      { extensions: apq(READ_TASK_HEX), variables: { id: taskId } },
      { extensions: apq(READ_TASK_ID), variables: { id: taskId } },
      { doc_id: READ_TASK_ID, variables: { id: taskId } },
      { documentId: READ_TASK_ID, variables: { id: taskId }, operationName: 'ReadTask' },
    ]) {
      const read = await post(stack, body);
      expect(read.body.errors, JSON.stringify(body)).toBeUndefined();
      expect(read.body.data.task).toMatchObject({ id: taskId, status: expect.any(String) });
    }
  });

  it('runs a query named in a GET query string, by documentId, doc_id or the Apollo extension', async () => {
    for (const params of [
      { documentId: READ_TASK_ID, variables: { id: 'demo-succeeded' } },
      { doc_id: READ_TASK_HEX, variables: { id: 'demo-succeeded' } },
      { extensions: apq(READ_TASK_HEX), variables: { id: 'demo-succeeded' } },
    ]) {
      const read = await get(stack, params);
      expect(read.status, JSON.stringify(params)).toBe(200);
      expect(read.body.data.task).toMatchObject({ id: 'demo-succeeded', status: 'SUCCEEDED' });
    }
  });

  it('refuses an unknown id with PERSISTED_QUERY_NOT_FOUND (404), in POST and GET', async () => {
    for (const result of [
      await post(stack, { extensions: apq('f'.repeat(64)), variables: { id: 'demo-succeeded' } }),
      await post(stack, { doc_id: 'relay-1234' }),
      await get(stack, { documentId: UNKNOWN_ID }),
    ]) {
      expect(result.status).toBe(404);
      expect(codeOf(result)).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
  });

  it('refuses a query sent as text with PERSISTED_QUERY_ONLY (400), even the exact text of a manifest document', async () => {
    for (const result of [
      await post(stack, { query: ARBITRARY_READ }),
      await post(stack, { query: manifest[READ_TASK_ID], variables: { id: 'demo-succeeded' } }),
      await post(stack, { query: ARBITRARY_READ, extensions: apq(UNKNOWN_ID.slice(7)) }),
      await get(stack, { query: ARBITRARY_READ }),
      await post(stack, { query: '{ __schema { types { name } } }' }),
    ]) {
      expect(result.status).toBe(400);
      expect(codeOf(result)).toBe('PERSISTED_QUERY_ONLY');
      expect(result.body.data).toBeUndefined();
    }
  });

  it('refuses a request with neither id nor query with BAD_REQUEST', async () => {
    const result = await post(stack, { variables: { id: 'demo-succeeded' } });
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe('BAD_REQUEST');
  });

  it('runs the manifest text for a known id, whatever text comes with it', async () => {
    const result = await post(stack, { query: '{ __typename }', documentId: READ_TASK_ID, variables: { id: 'demo-succeeded' } });
    expect(result.body).toEqual({ data: { task: expect.objectContaining({ id: 'demo-succeeded', status: 'SUCCEEDED' }) } });
  });

  it('keeps GET for queries: a mutation named by id over GET is refused (405) and creates nothing', async () => {
    const before = stack.simulator.stats().createRequests;
    const result = await get(stack, { documentId: CREATE_VIDEO_ID, variables: { input } });
    expect(result.status).toBe(405);
    expect(result.body.data).toBeUndefined();
    expect(stack.simulator.stats().createRequests).toBe(before);
  });

  it('answers a repeated persisted read from the response cache, and the cache never answers a refused request', async () => {
    const body = { documentId: READ_TASK_ID, variables: { id: 'demo-succeeded' } };
    const first = await post(stack, body);
    const before = await responseCacheLookups(stack);
    const repeat = await post(stack, body);
    const after = await responseCacheLookups(stack);
    expect(repeat.text).toBe(first.text);
    expect(after.hit).toBe(before.hit + 1);

    // The same operation as text: a different body, so a different key; refused, and no hit counted.
    const asText = await post(stack, { query: manifest[READ_TASK_ID], variables: { id: 'demo-succeeded' } });
    expect(codeOf(asText)).toBe('PERSISTED_QUERY_ONLY');
    expect((await responseCacheLookups(stack)).hit).toBe(after.hit);
  });

  it('over graphql-ws: follows a task by id to completion; text and unknown ids are refused with their codes', async () => {
    const created = await post(stack, { documentId: CREATE_VIDEO_ID, variables: { input } });
    const taskId = created.body.data.createReferenceVideo.taskId as string;

    // graphql-ws requires a query string: an empty one and the id, as Apollo's link or a Relay client sends.
    const followed = await overWebSocket(stack, { query: '', extensions: apq(FOLLOW_TASK_ID.slice(7)), variables: { id: taskId } });
    expect(followed.refusal).toBeUndefined();
    const statuses = followed.results.map((result) => (result.data as { taskUpdates: { status: string } }).taskUpdates.status);
    expect(statuses.at(-1)).toBe('SUCCEEDED');

    const byDocumentId = await overWebSocket(stack, { query: '', documentId: READ_TASK_ID, variables: { id: 'demo-succeeded' } });
    expect(byDocumentId.results).toEqual([{ data: { task: expect.objectContaining({ id: 'demo-succeeded', status: 'SUCCEEDED' }) } }]);

    const asText = await overWebSocket(stack, { query: `subscription { taskUpdates(id: "${taskId}") { status } }` });
    expect(asText.refusal).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ONLY' } })]);
    const unknown = await overWebSocket(stack, { query: '', documentId: UNKNOWN_ID });
    expect(unknown.refusal).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } })]);
  });

  it("Apollo Client's PersistedQueryLink with the codegen hash sends only the hash, and gets the result", async () => {
    const sent: unknown[] = [];
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([
        new PersistedQueryLink({ generateHash: (document) => persistedIdOf(document as typeof ReadTaskDocument) }),
        new HttpLink({
          uri: `${stack.gateway.url}/graphql`,
          fetch: async (url, init) => {
            sent.push(JSON.parse(String(init?.body)));
            return fetch(url, init);
          },
        }),
      ]),
    });
    const { data } = await client.query({ query: ReadTaskDocument, variables: { id: 'demo-succeeded' } });
    expect(data?.task).toMatchObject({ id: 'demo-succeeded', status: 'SUCCEEDED' });
    // One request, without the text.
    expect(sent).toEqual([expect.objectContaining({ operationName: 'ReadTask', extensions: expect.objectContaining(apq(READ_TASK_ID)) })]);
    expect(sent[0]).not.toHaveProperty('query');
  });
});

describe('persisted documents with text allowed (PERSISTED_DOCUMENTS_ALLOW_ARBITRARY=true)', () => {
  const stack = useStack({ env: { PERSISTED_DOCUMENTS_FILE: MANIFEST, PERSISTED_DOCUMENTS_ALLOW_ARBITRARY: 'true' } });

  it('runs queries sent as text and ids from the manifest; an unknown id alone is still PERSISTED_QUERY_NOT_FOUND', async () => {
    expect((await post(stack, { query: ARBITRARY_READ })).body.data.task).toEqual({ id: 'demo-succeeded', status: 'SUCCEEDED' });
    expect((await post(stack, { doc_id: READ_TASK_ID, variables: { id: 'demo-succeeded' } })).body.data.task.status).toBe('SUCCEEDED');
    const unknown = await post(stack, { documentId: UNKNOWN_ID });
    expect([unknown.status, codeOf(unknown)]).toEqual([404, 'PERSISTED_QUERY_NOT_FOUND']);
    // Apollo's fallback after PERSISTED_QUERY_NOT_FOUND: the text with the hash runs.
    expect((await post(stack, { query: ARBITRARY_READ, extensions: apq('e'.repeat(64)) })).body.data.task.status).toBe('SUCCEEDED');
  });

  it('over graphql-ws, text runs', async () => {
    const { results, refusal } = await overWebSocket(stack, { query: ARBITRARY_READ });
    expect(refusal).toBeUndefined();
    expect(results).toEqual([{ data: { task: { id: 'demo-succeeded', status: 'SUCCEEDED' } } }]);
  });
});

describe('no manifest', () => {
  const stack = useStack();

  it('answers a bare id with PERSISTED_QUERY_NOT_SUPPORTED, on which Apollo Client resends the query', async () => {
    const bare = await post(stack, { extensions: apq(READ_TASK_HEX), variables: { id: 'demo-succeeded' } });
    expect([bare.status, codeOf(bare)]).toEqual([400, 'PERSISTED_QUERY_NOT_SUPPORTED']);

    const sent: { query?: string }[] = [];
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([
        new PersistedQueryLink({ sha256: (text) => createHash('sha256').update(text).digest('hex') }),
        new HttpLink({
          uri: `${stack.gateway.url}/graphql`,
          fetch: async (url, init) => {
            sent.push(JSON.parse(String(init?.body)) as { query?: string });
            return fetch(url, init);
          },
        }),
      ]),
    });
    const { data } = await client.query({ query: ReadTaskDocument, variables: { id: 'demo-succeeded' } });
    expect(data?.task).toMatchObject({ status: 'SUCCEEDED' });
    expect(sent.map((body) => typeof body.query)).toEqual(['undefined', 'string']);
  });
});

describe('PERSISTED_DOCUMENTS_FILE at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persisted-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each([
    ['a missing file', join(dir, 'nope.json'), /cannot be read/],
    ['invalid JSON', file('bad.json', '{"sha256:1": '), /is not valid JSON/],
    ['a list', file('list.json', '["query { task(id: \\"x\\") { id } }"]'), /must hold a JSON object/],
    ['no documents', file('empty.json', '{}'), /holds no documents/],
    ['a document that is not GraphQL', file('text.json', '{"a": "hello there"}'), /entry 1: the document is not valid GraphQL/],
    ['a schema instead of operations', file('sdl.json', '{"a": "type Query { x: Int }"}'), /entry 1: the document may hold only operations/],
    ['a number for a document', file('number.json', '{"a": 1}'), /entry 1: the document must be a string/],
    ['an id with white space', file('id.json', '{"a b": "{ __typename }"}'), /entry 1: the id must be/],
  ])('refuses %s with one line naming the variable', (_case, path, problem) => {
    const attempt = () => loadConfig({ PERSISTED_DOCUMENTS_FILE: path });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^Invalid configuration: PERSISTED_DOCUMENTS_FILE [^\n]*$/);
    expect(attempt).toThrow(problem);
  });

  it('refuses PERSISTED_DOCUMENTS_ALLOW_ARBITRARY without a manifest, and a value that is not true or false', () => {
    expect(() => loadConfig({ PERSISTED_DOCUMENTS_ALLOW_ARBITRARY: 'true' })).toThrow(/^Invalid configuration: PERSISTED_DOCUMENTS_ALLOW_ARBITRARY needs PERSISTED_DOCUMENTS_FILE/);
    expect(() => loadConfig({ PERSISTED_DOCUMENTS_FILE: MANIFEST, PERSISTED_DOCUMENTS_ALLOW_ARBITRARY: 'yes' })).toThrow(
      /^Invalid configuration: PERSISTED_DOCUMENTS_ALLOW_ARBITRARY must be true or false/,
    );
  });

  // (test/start.test.ts proves that a ConfigError stops the process with its one line and exit code 1.)
  it('loads the generated manifest; trusted-only unless told otherwise', () => {
    expect(loadConfig({ PERSISTED_DOCUMENTS_FILE: MANIFEST }).persistedDocuments).toEqual({ file: MANIFEST, documents: manifest, allowArbitrary: false });
    expect(loadConfig({}).persistedDocuments).toBeUndefined();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
