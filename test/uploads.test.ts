// Reference images uploaded as files (SubjectInput.imageFiles), over real HTTP on loopback: GraphQL
// multipart requests built the way a browser builds them (FormData, File, fetch), and raw node:http
// for a client that keeps sending. A good file reaches the upstream as a data URI of its very bytes;
// a bad one is a userError at its exact path and costs no upstream call; a request over an upload
// limit is refused by the HTTP layer with a code, and a file over its limit while it is still arriving.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { gifBytes, pngBytes, pngDataUri } from './support/images.js';
import { UPSTREAM_TEST_KEY, useStack, type GraphQLResult } from './support/stack.js';

/** Small limits, so that files and fields over them stay small too. */
const MAX_FILE_BYTES = 20_000;
const MAX_FIELD_BYTES = 4096;
const MAX_FILES = 7;

const stack = useStack({ env: { IMAGE_MAX_DECODED_BYTES: String(MAX_FILE_BYTES), UPLOAD_MAX_FIELD_BYTES: String(MAX_FIELD_BYTES) } });

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;
/** What a client sends to make a multipart mutation run on an open gateway (no Authorization). */
const CSRF_HEADER = { 'x-graphql-yoga-csrf': '1' };
const URL_IMAGE = 'https://example.com/a.png';

/** A file at a variable path (`input.subjects.1.imageFiles.0`, where the input holds null). */
type Upload = [path: string, file: File];

interface Answer {
  status: number;
  headers: Headers;
  body: GraphQLResult['body'];
}

const pngFile = (width: number, height: number, padToBytes?: number) => new File([pngBytes(width, height, padToBytes)], 'face.png', { type: 'image/png' });

/** A GraphQL multipart request (operations, map, then the files), as FormData. */
function multipartForm(operations: object, uploads: Upload[]): FormData {
  const form = new FormData();
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify(Object.fromEntries(uploads.map(([path], i) => [String(i), [`variables.${path}`]]))));
  uploads.forEach(([, file], i) => form.append(String(i), file));
  return form;
}

async function postForm(form: FormData, headers: Record<string, string> = CSRF_HEADER): Promise<Answer> {
  // fetch sets the multipart Content-Type and its boundary itself, as in a browser.
  const response = await fetch(`${stack.gateway.url}/graphql`, { method: 'POST', headers: { accept: 'application/graphql-response+json', ...headers }, body: form });
  const text = await response.text();
  expect(text).not.toContain(UPSTREAM_TEST_KEY);
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as GraphQLResult['body'] };
}

const createWithFiles = (input: object, uploads: Upload[], headers?: Record<string, string>) =>
  postForm(multipartForm({ query: CREATE, variables: { input } }, uploads), headers);

type UpstreamCreate = { prompt: string; subjects: { id: string; images: string[] }[] };

/** The create the simulator accepted with this prompt: the body the gateway sent upstream. */
function upstreamBodyWithPrompt(prompt: string): UpstreamCreate {
  const bodies = stack.simulator.acceptedCreateBodies() as UpstreamCreate[];
  const found = bodies.filter((body) => body.prompt === prompt);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function expectRefusedBeforeUpstream(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body.errors).toEqual([{ message: expect.any(String), extensions: { code } }]);
  expect(stack.simulator.stats().createRequests).toBe(0);
}

describe('creating with uploaded images', () => {
  it('sends an uploaded PNG upstream as a data URI of its exact bytes, next to a subject with an image URL', async () => {
    const bytes = pngBytes(256, 256);
    const prompt = '@1 hands @2 a cup of tea';
    const input = { prompt, subjects: [{ id: '1', images: [URL_IMAGE] }, { id: '2', imageFiles: [null] }] };
    const answer = await createWithFiles(input, [['input.subjects.1.imageFiles.0', new File([bytes], 'cup.png', { type: 'image/png' })]]);

    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.createReferenceVideo).toEqual({ taskId: expect.any(String), userErrors: [] });
    expect(stack.simulator.stats().createRequests).toBe(1);

    const sent = upstreamBodyWithPrompt(prompt);
    // No imageFiles upstream: the file is one more image of its subject.
    expect(sent.subjects).toEqual([
      { id: '1', images: [URL_IMAGE] },
      { id: '2', images: [expect.stringMatching(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/)] },
    ]);
    const base64 = sent.subjects[1]!.images[0]!.slice('data:image/png;base64,'.length);
    expect(new Uint8Array(Buffer.from(base64, 'base64'))).toEqual(bytes);
  });

  it('appends a subject\'s files after its URLs, in order', async () => {
    const [first, second] = [pngBytes(256, 256), pngBytes(300, 200)];
    const prompt = '@1 juggles';
    const input = { prompt, subjects: [{ id: '1', images: [URL_IMAGE], imageFiles: [null, null] }] };
    const answer = await createWithFiles(input, [
      ['input.subjects.0.imageFiles.0', new File([first], 'a.png', { type: 'image/png' })],
      ['input.subjects.0.imageFiles.1', new File([second], 'b.png', { type: '' })],
    ]);
    expect(answer.body.data.createReferenceVideo.userErrors).toEqual([]);
    const images = upstreamBodyWithPrompt(prompt).subjects[0]!.images;
    expect(images).toHaveLength(3);
    expect(images[0]).toBe(URL_IMAGE);
    expect(images.slice(1)).toEqual([first, second].map((bytes) => `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`));
  });

  const good = () => pngFile(256, 256);
  it.each([
    { name: 'a PNG of 100×100', files: [pngFile(100, 100)], at: 0, code: 'IMAGE_TOO_SMALL' },
    { name: 'a PNG of 128×600 after a good one', files: [good(), pngFile(128, 600)], at: 1, code: 'IMAGE_ASPECT_RATIO' },
    { name: 'PNG bytes declared as image/jpeg', files: [new File([pngBytes(256, 256)], 'face.jpg', { type: 'image/jpeg' })], at: 0, code: 'INVALID_IMAGE' },
    { name: 'a GIF', files: [new File([gifBytes(256, 256)], 'face.gif', { type: 'image/gif' })], at: 0, code: 'INVALID_IMAGE' },
    { name: 'text declared as a PNG', files: [new File(['not an image at all'], 'face.png', { type: 'image/png' })], at: 0, code: 'INVALID_IMAGE' },
  ])('refuses $name with $code at its path, and sends nothing upstream', async ({ files, at, code }) => {
    const input = { prompt: '@1 and @2 dance', subjects: [{ id: '1', images: [URL_IMAGE] }, { id: '2', imageFiles: files.map(() => null) }] };
    const answer = await createWithFiles(input, files.map((file, j): Upload => [`input.subjects.1.imageFiles.${j}`, file]));
    expect(answer.status).toBe(200);
    expect(answer.body.data.createReferenceVideo).toEqual({
      taskId: null,
      userErrors: [{ field: ['input', 'subjects', '1', 'imageFiles', String(at)], code, message: expect.any(String) }],
    });
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('counts files and URLs together: 1–3 per subject, 7 in all', async () => {
    const files = (subject: number, count: number) => Array.from({ length: count }, (_, j): Upload => [`input.subjects.${subject}.imageFiles.${j}`, pngFile(256, 256)]);
    const cases: { input: object; uploads: Upload[]; field: string[]; code: string }[] = [
      {
        input: { prompt: '@1 waves', subjects: [{ id: '1', images: [URL_IMAGE, URL_IMAGE], imageFiles: [null, null] }] },
        uploads: files(0, 2),
        field: ['input', 'subjects', '0'],
        code: 'TOO_MANY',
      },
      {
        input: { prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null, null, null, null] }] },
        uploads: files(0, 4),
        field: ['input', 'subjects', '0', 'imageFiles'],
        code: 'TOO_MANY',
      },
      { input: { prompt: '@1 waves', subjects: [{ id: '1' }] }, uploads: [], field: ['input', 'subjects', '0', 'images'], code: 'TOO_FEW' },
      { input: { prompt: '@1 waves', subjects: [{ id: '1', images: [], imageFiles: [] }] }, uploads: [], field: ['input', 'subjects', '0', 'images'], code: 'TOO_FEW' },
      {
        input: {
          prompt: '@1 @2 @3 wave',
          subjects: [
            { id: '1', images: [URL_IMAGE, URL_IMAGE, URL_IMAGE] },
            { id: '2', images: [URL_IMAGE, URL_IMAGE, URL_IMAGE] },
            { id: '3', imageFiles: [null, null] },
          ],
        },
        uploads: files(2, 2),
        field: ['input', 'subjects'],
        code: 'TOO_MANY',
      },
    ];
    for (const { input, uploads, field, code } of cases) {
      const answer = await createWithFiles(input, uploads);
      expect(answer.body.data.createReferenceVideo).toEqual({ taskId: null, userErrors: [{ field, code, message: expect.any(String) }] });
    }
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('checks a base64 image\'s pixels as it checks a file\'s', async () => {
    const { body } = await stack.graphql(CREATE, { input: { prompt: '@1 waves', subjects: [{ id: '1', images: [pngDataUri(100, 100)] }] } });
    expect(body.data.createReferenceVideo).toEqual({
      taskId: null,
      userErrors: [{ field: ['input', 'subjects', '0', 'images', '0'], code: 'IMAGE_TOO_SMALL', message: 'Image is 100×100 pixels; images must be at least 128×128.' }],
    });
    expect(stack.simulator.stats().createRequests).toBe(0);
  });
});

describe('upload limits at the HTTP layer', () => {
  const oneFile = (file: File) =>
    createWithFiles({ prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null] }] }, [['input.subjects.0.imageFiles.0', file]]);

  it(`takes a file of exactly IMAGE_MAX_DECODED_BYTES (${MAX_FILE_BYTES}) and refuses one byte more with 413 UPLOAD_TOO_LARGE`, async () => {
    const atLimit = await oneFile(pngFile(256, 256, MAX_FILE_BYTES));
    expect(atLimit.body.data.createReferenceVideo).toEqual({ taskId: expect.any(String), userErrors: [] });
    stack.simulator.resetStats();

    const over = await oneFile(pngFile(256, 256, MAX_FILE_BYTES + 1));
    expectRefusedBeforeUpstream(over, 413, 'UPLOAD_TOO_LARGE');
    expect(over.headers.get('connection')).toBe('close');
  });

  it('refuses a 1 MB file with 413 UPLOAD_TOO_LARGE', async () => {
    expectRefusedBeforeUpstream(await oneFile(pngFile(256, 256, 1_000_000)), 413, 'UPLOAD_TOO_LARGE');
  });

  it('answers 413 while a client is still sending a 5 MB file', async () => {
    const total = 5_000_000;
    const sent = await streamUpload(total);
    expect(sent.answer).toMatchObject({ status: 413, code: 'UPLOAD_TOO_LARGE', connection: 'close' });
    // The gateway had to see more than the limit, and it did not wait for the rest of the file.
    expect(sent.bytesWrittenWhenAnswered).toBeGreaterThan(MAX_FILE_BYTES);
    expect(sent.bytesWrittenWhenAnswered).toBeLessThan(total);
    expect(stack.simulator.stats().createRequests).toBe(0);
    // And it goes on serving.
    expect((await oneFile(pngFile(256, 256))).body.data.createReferenceVideo.taskId).toEqual(expect.any(String));
  });

  it('answers 413 FIELD_TOO_LARGE while a client is still sending an oversized operations field', async () => {
    const boundary = 'field-test-boundary-1c2d';
    const total = 5_000_000;
    const sent = await streamUntilAnswered(boundary, [`--${boundary}\r\ncontent-disposition: form-data; name="operations"\r\n\r\n{"query":"`], total);
    expect(sent.answer).toMatchObject({ status: 413, code: 'FIELD_TOO_LARGE' });
    // Within a few fields' worth of the limit, not at the end of the body (nor at the 25 MB body limit).
    expect(sent.bytesWrittenWhenAnswered).toBeLessThan(1_000_000);
  });

  it(`refuses more than UPLOAD_MAX_FILES (${MAX_FILES}) files with 413 TOO_MANY_FILES`, async () => {
    const subjects = Array.from({ length: 4 }, (_, i) => ({ id: String(i + 1), imageFiles: [null, null] }));
    const uploads = subjects.flatMap((_, i) => [0, 1].map((j): Upload => [`input.subjects.${i}.imageFiles.${j}`, pngFile(256, 256)]));
    expect(uploads).toHaveLength(MAX_FILES + 1);
    const answer = await createWithFiles({ prompt: '@1 @2 @3 @4 wave', subjects }, uploads);
    expectRefusedBeforeUpstream(answer, 413, 'TOO_MANY_FILES');
    expect(answer.headers.get('connection')).toBe('close');
  });

  it(`takes an operations field of exactly UPLOAD_MAX_FIELD_BYTES (${MAX_FIELD_BYTES}) and refuses one byte more with 413 FIELD_TOO_LARGE`, async () => {
    const uploads: Upload[] = [['input.subjects.0.imageFiles.0', pngFile(256, 256)]];
    const input = { prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null] }] };
    // Spaces after the document change nothing but the field's length (one byte each in JSON).
    const operationsOf = (length: number) => {
      const bare = { query: CREATE, variables: { input } };
      return { query: CREATE + ' '.repeat(length - JSON.stringify(bare).length), variables: { input } };
    };
    expect(JSON.stringify(operationsOf(MAX_FIELD_BYTES))).toHaveLength(MAX_FIELD_BYTES);

    const atLimit = await postForm(multipartForm(operationsOf(MAX_FIELD_BYTES), uploads));
    expect(atLimit.body.data.createReferenceVideo).toEqual({ taskId: expect.any(String), userErrors: [] });
    stack.simulator.resetStats();

    const over = await postForm(multipartForm(operationsOf(MAX_FIELD_BYTES + 1), uploads));
    expectRefusedBeforeUpstream(over, 413, 'FIELD_TOO_LARGE');
  });

  const operations = { query: CREATE, variables: { input: { prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null] }] } } };
  const form = (fields: [name: string, value: string | File][]) => {
    const built = new FormData();
    for (const [name, value] of fields) built.append(name, value);
    return built;
  };
  /** Good operations and one file, under this map. */
  const mapped = (map: Record<string, unknown>) =>
    form([
      ['operations', JSON.stringify(operations)],
      ['map', JSON.stringify(map)],
      ['0', pngFile(256, 256)],
    ]);
  it.each([
    {
      name: 'no operations field, a file',
      message: /must come before the files/,
      body: () => form([['map', JSON.stringify({ 0: ['variables.input.subjects.0.imageFiles.0'] })], ['0', pngFile(256, 256)]]),
    },
    { name: 'no operations field, no file', message: /needs an "operations" field/, body: () => form([['map', '{}']]) },
    { name: 'operations that are not JSON', message: /"operations" must be valid JSON/, body: () => form([['operations', '{"query": '], ['map', '{}']]) },
    { name: 'batched operations', message: /batched operations are not supported/, body: () => form([['operations', JSON.stringify([operations])], ['map', '{}']]) },
    { name: 'a map path outside variables', message: /must start with "variables\."/, body: () => mapped({ 0: ['input.subjects.0.imageFiles.0'] }) },
    { name: 'a map path through __proto__', message: /is not allowed/, body: () => mapped({ 0: ['variables.__proto__.polluted'] }) },
    { name: 'a map path at a value that is not null', message: /must name a variable the operation sets to null/, body: () => mapped({ 0: ['variables.input.prompt'] }) },
    { name: 'a map path that names no place', message: /names no place/, body: () => mapped({ 0: ['variables.input.subjects.5.imageFiles.0'] }) },
    {
      name: 'a map naming a file the request lacks',
      message: /names a file "1" the request does not carry/,
      body: () => mapped({ 0: ['variables.input.subjects.0.imageFiles.0'], 1: ['variables.input.subjects.0.imageFiles.0'] }),
    },
  ])('answers a malformed request ($name) with 400 BAD_REQUEST', async ({ body, message }) => {
    const answer = await postForm(body());
    expectRefusedBeforeUpstream(answer, 400, 'BAD_REQUEST');
    expect(answer.body.errors?.[0]?.message).toMatch(message);
  });
});

describe('uploads and CSRF', () => {
  const input = { prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null] }] };
  const uploads = (): Upload[] => [['input.subjects.0.imageFiles.0', pngFile(256, 256)]];

  it('on an open gateway, refuses a multipart mutation without a preflight header (a form could send it cross-site)', async () => {
    const answer = await createWithFiles(input, uploads(), {});
    expect(answer.status).toBe(403);
    expect(answer.body.errors).toEqual([{ message: expect.any(String), extensions: { code: 'PREFLIGHT_REQUIRED' } }]);
    expect(answer.body.data?.createReferenceVideo ?? null).toBeNull();
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it.each([['x-graphql-yoga-csrf'], ['apollo-require-preflight']])('runs it with %s', async (header) => {
    const answer = await createWithFiles(input, uploads(), { [header]: '1' });
    expect(answer.status).toBe(200);
    expect(answer.body.data.createReferenceVideo).toEqual({ taskId: expect.any(String), userErrors: [] });
    expect(stack.simulator.stats().createRequests).toBe(1);
  });
});

interface StreamedUpload {
  answer: { status: number; code: unknown; connection: string | undefined } | undefined;
  /** How much the client had written after the head when the answer's head arrived. */
  bytesWrittenWhenAnswered: number;
}

/**
 * A client that sends `head`, then keeps sending filler in 16 KiB pieces, one every 10 ms or so,
 * until an answer arrives or `totalBytes` are sent (then it ends the body). Raw node:http,
 * chunked: fetch would hand over the whole body at once.
 */
async function streamUntilAnswered(boundary: string, head: (string | Uint8Array)[], totalBytes: number): Promise<StreamedUpload> {
  const { hostname, port } = new URL(stack.gateway.url);
  const request = httpRequest({
    host: hostname,
    port,
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, accept: 'application/graphql-response+json', ...CSRF_HEADER },
  });
  // Writes after the gateway closed the connection fail (EPIPE, ECONNRESET): expected here.
  request.on('error', () => {});
  let answered = false;
  const response = new Promise<IncomingMessage>((resolve) =>
    request.on('response', (res) => {
      answered = true;
      resolve(res);
    }),
  );
  let written = 0;
  for (const part of head) {
    request.write(part);
    if (typeof part !== 'string') written += part.length;
  }
  const piece = Buffer.alloc(16 * 1024, 0x2a);
  while (!answered && written < totalBytes) {
    request.write(piece);
    written += piece.length;
    // Slowly, so that an early answer can arrive while most of the body is still unsent.
    await Promise.race([response, sleep(10)]);
  }
  const bytesWrittenWhenAnswered = written;
  // Had it not answered by then, the gateway would be waiting for the end of the request.
  if (!answered) request.end(`\r\n--${boundary}--\r\n`);
  const res = await Promise.race([response, sleep(30_000).then(() => undefined)]);
  let answer: StreamedUpload['answer'];
  if (res !== undefined) {
    let text = '';
    res.setEncoding('utf8');
    for await (const chunk of res) text += chunk as string;
    answer = { status: res.statusCode ?? 0, code: (JSON.parse(text) as GraphQLResult['body']).errors?.[0]?.extensions?.code, connection: res.headers.connection };
  }
  request.destroy();
  return { answer, bytesWrittenWhenAnswered };
}

/** Operations, map and the head of a PNG, then the rest of a `totalFileBytes` file, slowly (see streamUntilAnswered). */
function streamUpload(totalFileBytes: number): Promise<StreamedUpload> {
  const boundary = 'upload-test-boundary-7f3a';
  const operations = JSON.stringify({ query: CREATE, variables: { input: { prompt: '@1 waves', subjects: [{ id: '1', imageFiles: [null] }] } } });
  const map = JSON.stringify({ 0: ['variables.input.subjects.0.imageFiles.0'] });
  const field = (name: string, value: string) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const fileHead = `--${boundary}\r\ncontent-disposition: form-data; name="0"; filename="big.png"\r\ncontent-type: image/png\r\n\r\n`;
  return streamUntilAnswered(boundary, [field('operations', operations) + field('map', map) + fileHead, pngBytes(512, 512)], totalFileBytes);
}
