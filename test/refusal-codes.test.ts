// Every refusal of the gateway, whatever refuses it (Node's HTTP parser, the HTTP layer, Yoga's
// protocol checks, graphql-js's variable coercion), answers with a JSON body of errors that each
// carry a stable extensions.code, never a stack trace, and (for an allowed origin) CORS headers
// that let the page read x-request-id. One table of request → expected status and code, over real
// HTTP against the gateway and the simulator.
import { connect } from 'node:net';
import { createClient as createWsClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useStack } from './support/stack.js';

const ORIGIN = 'https://app.example.com';
const MAX_BODY_BYTES = 65_536;
const MAX_QUERY_CHARS = 2_000;
const stack = useStack({
  env: { CORS_ORIGINS: ORIGIN, REQUEST_MAX_BODY_BYTES: String(MAX_BODY_BYTES), GRAPHQL_MAX_QUERY_CHARS: String(MAX_QUERY_CHARS) },
});

const JSON_TYPE = { 'content-type': 'application/json' };
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const READ = 'query($id: ID!) { task(id: $id) { id } }';
const READ_MANY = 'query($ids: [ID!]!) { tasks(ids: $ids) { id } }';
const WATCH = 'subscription($id: ID!) { taskUpdates(id: $id) { status } }';
const SUBJECTS = [{ id: '1', images: ['https://example.com/a.png'] }];
const input = (extra: Record<string, unknown>) => ({ prompt: '@1 waves', subjects: SUBJECTS, ...extra });

/** What one case sends: a path with its query string (under the gateway's URL) and fetch's init. */
interface Sent {
  path: string;
  init?: RequestInit;
}

interface Refusal {
  name: string;
  send: Sent;
  status: number;
  code: string;
  /** Expected extensions besides the code, e.g. the variable path. */
  extensions?: Record<string, unknown>;
  /** Expected response headers. */
  headers?: Record<string, string>;
}

const get = (params: Record<string, string>, headers: Record<string, string> = {}): Sent => ({
  path: `/graphql?${new URLSearchParams(params).toString()}`,
  init: { headers: { accept: 'application/graphql-response+json', ...headers } },
});
const post = (body: string | Blob | FormData, headers: Record<string, string> = JSON_TYPE): Sent => ({
  path: '/graphql',
  init: { method: 'POST', headers: { accept: 'application/graphql-response+json', ...headers }, body },
});
const postJson = (value: unknown) => post(JSON.stringify(value));
const operations = (value: string) => {
  const form = new FormData();
  form.set(value === '' ? 'other' : 'operations', value);
  return form;
};

const REFUSALS: Refusal[] = [
  // 406: Accept names nothing the gateway produces. A JSON body anyway (HTTP lets a 406 carry one).
  { name: 'GET query, Accept: image/png', send: get({ query: '{ __typename }' }, { accept: 'image/png' }), status: 406, code: 'NOT_ACCEPTABLE' },
  { name: 'POST query, Accept: text/html', send: post('{"query":"{ __typename }"}', { ...JSON_TYPE, accept: 'text/html' }), status: 406, code: 'NOT_ACCEPTABLE' },
  {
    name: 'subscription, Accept: application/json only',
    send: post(JSON.stringify({ query: WATCH, variables: { id: 'demo-succeeded' } }), { ...JSON_TYPE, accept: 'application/json' }),
    status: 406,
    code: 'NOT_ACCEPTABLE',
  },
  // 405: methods (PUT and DELETE on /graphql belong to graphql-sse's single-connection mode).
  { name: 'PATCH /graphql', send: { path: '/graphql', init: { method: 'PATCH', headers: JSON_TYPE, body: '{"query":"{ __typename }"}' } }, status: 405, code: 'METHOD_NOT_ALLOWED', headers: { allow: 'GET, POST' } },
  {
    name: 'a mutation over GET',
    send: get({ query: CREATE, variables: JSON.stringify({ input: input({}) }) }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    headers: { allow: 'POST' },
  },
  // 415: a POST body no parser reads.
  { name: 'POST text/plain', send: post('{"query":"{ __typename }"}', { 'content-type': 'text/plain' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'POST application/xml', send: post('<query/>', { 'content-type': 'application/xml' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'POST without a content type', send: post(new Blob(['{"query":"{ __typename }"}']), {}), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // 400: malformed requests.
  { name: 'POST body not JSON', send: post('{"query":'), status: 400, code: 'BAD_REQUEST' },
  { name: 'POST body empty', send: post(''), status: 400, code: 'BAD_REQUEST' },
  { name: 'POST body a JSON string', send: post('"{ __typename }"'), status: 400, code: 'BAD_REQUEST' },
  { name: 'POST body JSON null', send: post('null'), status: 400, code: 'BAD_REQUEST' },
  { name: 'POST body a JSON array (no batching)', send: post('[{"query":"{ __typename }"}]'), status: 400, code: 'BAD_REQUEST' },
  { name: 'POST without query', send: postJson({ variables: {} }), status: 400, code: 'BAD_REQUEST' },
  { name: 'query not a string', send: postJson({ query: 1 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'variables a string', send: postJson({ query: '{ __typename }', variables: '{}' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'variables an array', send: postJson({ query: '{ __typename }', variables: [1] }), status: 400, code: 'BAD_REQUEST' },
  { name: 'extensions a string', send: postJson({ query: '{ __typename }', extensions: 'x' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'an unknown parameter', send: postJson({ query: '{ __typename }', debug: true }), status: 400, code: 'BAD_REQUEST' },
  { name: 'GET without query', send: get({}), status: 400, code: 'BAD_REQUEST' },
  { name: 'GET with variables that are not JSON', send: get({ query: READ, variables: '{"id":' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'GET with extensions that are not JSON', send: get({ query: '{ __typename }', extensions: '{' }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'form POST with variables that are not JSON',
    send: post('query=%7B__typename%7D&variables=%7B', { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'multipart POST without "operations"', send: post(operations(''), {}), status: 400, code: 'BAD_REQUEST' },
  { name: 'multipart POST with "operations" not JSON', send: post(operations('{'), {}), status: 400, code: 'BAD_REQUEST' },
  { name: 'operationName naming no operation', send: postJson({ query: 'query A { __typename }', operationName: 'B' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'operationName not a string', send: postJson({ query: 'query A { __typename }', operationName: {} }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'two operations, no operationName', send: postJson({ query: 'query A { __typename } query B { __typename }' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'a document that does not parse', send: postJson({ query: '{ task(' }), status: 400, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'a document that does not validate', send: postJson({ query: '{ nope }' }), status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'a document over GRAPHQL_MAX_QUERY_CHARS', send: postJson({ query: `{ __typename }${' '.repeat(MAX_QUERY_CHARS)}` }), status: 400, code: 'QUERY_TOO_LARGE' },
  // Variable coercion: BAD_USER_INPUT, and `field`, the path into `variables`.
  {
    name: 'a string where an enum belongs',
    send: postJson({ query: CREATE, variables: { input: input({ resolution: '720p' }) } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['input', 'resolution'] },
  },
  {
    name: 'a string where an Int belongs',
    send: postJson({ query: CREATE, variables: { input: input({ durationSeconds: 'five' }) } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['input', 'durationSeconds'] },
  },
  {
    name: 'a number in a list of strings, deep down',
    send: postJson({ query: CREATE, variables: { input: input({ subjects: [{ id: '1', images: ['https://example.com/a.png', 5] }] }) } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['input', 'subjects', '0', 'images', '1'] },
  },
  {
    name: 'a field the input type does not have',
    send: postJson({ query: CREATE, variables: { input: input({ subjects: [{ ...SUBJECTS[0], colour: 'red' }] }) } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['input', 'subjects', '0'] },
  },
  {
    name: 'a value that quotes a path of its own',
    send: postJson({ query: CREATE, variables: { input: input({ resolution: 'x at "input.seed' }) } }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['input', 'resolution'] },
  },
  { name: 'a number where an input object belongs', send: postJson({ query: CREATE, variables: { input: 5 } }), status: 400, code: 'BAD_USER_INPUT', extensions: { field: ['input'] } },
  { name: 'a required variable left out', send: postJson({ query: READ }), status: 400, code: 'BAD_USER_INPUT', extensions: { field: ['id'] } },
  { name: 'a required variable null', send: postJson({ query: READ, variables: { id: null } }), status: 400, code: 'BAD_USER_INPUT', extensions: { field: ['id'] } },
  { name: 'null in a list of non-null ids', send: postJson({ query: READ_MANY, variables: { ids: ['a', 'b', null] } }), status: 400, code: 'BAD_USER_INPUT', extensions: { field: ['ids', '2'] } },
  {
    name: 'a GET query with a variable of the wrong type',
    send: get({ query: READ, variables: JSON.stringify({ id: { not: 'an id' } }) }),
    status: 400,
    code: 'BAD_USER_INPUT',
    extensions: { field: ['id'] },
  },
  // The HTTP layer's own refusals.
  { name: 'a path other than /graphql', send: { path: '/graphq1' }, status: 404, code: 'NOT_FOUND' },
  { name: `a body over REQUEST_MAX_BODY_BYTES`, send: postJson({ query: '{ __typename }', pad: 'x'.repeat(MAX_BODY_BYTES) }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function send({ path, init = {} }: Sent, extraHeaders: Record<string, string> = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  const response = await fetch(`${stack.gateway.url}${path}`, { ...init, headers });
  const text = await response.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // the assertions below report what came instead
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** A refusal as every client can use it: JSON errors, each with a code, and nothing internal. */
function expectCodedErrors(text: string, errors: Answer['body']['errors']): void {
  expect(errors?.length, text).toBeGreaterThan(0);
  for (const error of errors ?? []) {
    expect(typeof error.extensions?.code, text).toBe('string');
    // Yoga's internal status travels in extensions.http; it is never sent.
    expect(error.extensions?.http, text).toBeUndefined();
  }
  expect(text).not.toMatch(/\n\s+at |node_modules|\/work\/|\.ts:\d+|"stack"/);
}

describe('every refusal has a code', () => {
  it.each(REFUSALS)('$name: $status $code', async ({ send: sent, status, code, extensions, headers }) => {
    const answer = await send(sent);
    expect(answer.status, answer.text).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json; charset=utf-8$/);
    expectCodedErrors(answer.text, answer.body.errors);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code, ...extensions });
    expect(answer.headers.get('x-request-id')).toMatch(/\S/);
    for (const [name, value] of Object.entries(headers ?? {})) expect(answer.headers.get(name)).toBe(value);
  });

  it('a 406 names the media types that would have been served, and reads nothing upstream', async () => {
    const before = stack.simulator.stats().resultRequests;
    const answer = await send(post(JSON.stringify({ query: WATCH, variables: { id: 'not-a-task' } }), { ...JSON_TYPE, accept: 'application/json' }));
    expect(answer.status).toBe(406);
    expect(answer.body.errors?.[0]?.message).toContain('text/event-stream');
    expect(answer.headers.get('accept')).toContain('text/event-stream');
    const query = await send(get({ query: '{ __typename }' }, { accept: 'image/png' }));
    expect(query.body.errors?.[0]?.message).toContain('application/graphql-response+json');
    expect(stack.simulator.stats().resultRequests).toBe(before);
  });

  it('every coercion problem of a request is reported, each with its own path', async () => {
    const answer = await send(postJson({ query: CREATE, variables: { input: input({ resolution: '720p', durationSeconds: 'five', seed: 'x' }) } }));
    expect(answer.status).toBe(400);
    expectCodedErrors(answer.text, answer.body.errors);
    expect(answer.body.errors?.map((error) => error.extensions?.field)).toEqual(
      expect.arrayContaining([
        ['input', 'resolution'],
        ['input', 'durationSeconds'],
        ['input', 'seed'],
      ]),
    );
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('the legacy application/json answer keeps status 200 for a request without a query, with the code', async () => {
    // The GraphQL-over-HTTP spec lets application/json answer 200 for what graphql-response+json answers 400.
    const answer = await send(get({}, { accept: 'application/json' }));
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('HEAD is refused with 405 and Allow, without a body (HTTP gives HEAD answers none)', async () => {
    const answer = await send({ path: `/graphql?query=${encodeURIComponent('{ __typename }')}`, init: { method: 'HEAD' } });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET, POST');
    expect(answer.text).toBe('');
  });

  it('a variable of the wrong type over SSE: the event carries BAD_USER_INPUT and the path', async () => {
    const answer = await send(post(JSON.stringify({ query: WATCH, variables: { id: ['x'] } }), { ...JSON_TYPE, accept: 'text/event-stream' }));
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = answer.text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice('data: '.length)) as Answer['body']);
    expectCodedErrors(answer.text, data[0]?.errors);
    expect(data[0]?.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: ['id'] });
  });

  it('a variable of the wrong type over graphql-ws: BAD_USER_INPUT and the path, no HTTP status', async () => {
    const client = createWsClient({ url: `${stack.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const results: Answer['body'][] = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: CREATE, variables: { input: input({ resolution: '720p' }) } },
          { next: (result) => void results.push(result as Answer['body']), error: reject, complete: resolve },
        );
      });
      expectCodedErrors(JSON.stringify(results), results[0]?.errors);
      expect(results[0]?.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: ['input', 'resolution'] });
    } finally {
      await client.dispose();
    }
  });
});

/** Sends bytes as they are (without ending the connection) and reads the whole answer. */
function raw(baseUrl: string, bytes: string): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') });
    });
    socket.write(bytes);
  });
}

function expectCodedRawAnswer(answer: { status: number; head: string; body: string }, status: number, code: string): void {
  expect(answer.status, answer.head).toBe(status);
  expect(answer.head).toMatch(/content-type: application\/json/i);
  const body = JSON.parse(answer.body) as Answer['body'];
  expectCodedErrors(answer.body, body.errors);
  expect(body.errors?.[0]?.extensions?.code).toBe(code);
}

describe("requests Node's HTTP parser refuses", () => {
  it.each([
    { name: 'a request line that is not HTTP', bytes: 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
    {
      name: 'a Content-Length that is not a number',
      bytes: 'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ten\r\n\r\n{}',
      status: 400,
      code: 'BAD_REQUEST',
    },
    { name: "headers over Node's limit", bytes: `GET /graphql HTTP/1.1\r\nhost: x\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE' },
  ])('$name: $status $code, and the connection is closed', async ({ bytes, status, code }) => {
    expectCodedRawAnswer(await raw(stack.gateway.url, bytes), status, code);
  });

  describe('a request that does not arrive within HTTP_REQUEST_TIMEOUT_MS', () => {
    const slow = useStack({ env: { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000' } });

    it('408 REQUEST_TIMEOUT, and the connection is closed', async () => {
      const answer = await raw(slow.gateway.url, 'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{');
      expectCodedRawAnswer(answer, 408, 'REQUEST_TIMEOUT');
    });
  });
});

describe('CORS: an allowed origin can read the answer and its x-request-id', () => {
  const byName = (name: string): Refusal => {
    const found = REFUSALS.find((refusal) => refusal.name === name);
    if (!found) throw new Error(`no refusal named ${name}`);
    return found;
  };
  const subscription = JSON.stringify({ query: 'subscription { taskUpdates(id: "demo-succeeded") { status } }' });

  it.each<[string, Sent]>([
    ['a query over POST', postJson({ query: '{ __typename }' })],
    ['a query over GET', get({ query: '{ __typename }' })],
    ['an SSE subscription over POST', post(subscription, { ...JSON_TYPE, accept: 'text/event-stream' })],
    ['an EventSource-style GET subscription', get({ query: 'subscription { taskUpdates(id: "demo-succeeded") { status } }' }, { accept: 'text/event-stream' })],
    ...['GET query, Accept: image/png', 'PATCH /graphql', 'POST text/plain', 'GET without query', 'a string where an enum belongs'].map(
      (name): [string, Sent] => [`Yoga's refusal: ${name}`, byName(name).send],
    ),
    ...['POST body not JSON', 'a path other than /graphql', 'a body over REQUEST_MAX_BODY_BYTES'].map((name): [string, Sent] => [`the HTTP layer's refusal: ${name}`, byName(name).send]),
  ])('%s', async (_name, sent) => {
    const answer = await send(sent, { origin: ORIGIN });
    expect(answer.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(answer.headers.get('access-control-expose-headers')?.split(/\s*,\s*/)).toContain('x-request-id');
    expect(answer.headers.get('x-request-id')).toMatch(/\S/);
  });

  it('an origin not on the list gets no CORS headers, on answers and refusals alike', async () => {
    for (const sent of [postJson({ query: '{ __typename }' }), byName('GET query, Accept: image/png').send, byName('POST body not JSON').send]) {
      const answer = await send(sent, { origin: 'https://elsewhere.example.net' });
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-expose-headers')).toBeNull();
    }
  });
});
