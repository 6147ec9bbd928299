// The two video stores (a folder, S3-compatible object storage) keep one contract: put a file, then
// serve it over real HTTP with ranges, HEAD and conditional GETs, refuse what they cannot serve,
// delete it. The same suite runs against both; S3 runs against a real s3rver on loopback.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openFolderVideoStore } from '../src/videos/folder-video-store.js';
import { openS3VideoStore, type S3VideoStoreOptions } from '../src/videos/s3-video-store.js';
import { isVideoKey, type StoreRefusal, type VideoStore } from '../src/videos/video-store.js';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3Server } from './support/s3-server.js';

const SAMPLE_FILE = fileURLToPath(new URL('../src/simulator/assets/sample.mp4', import.meta.url));
const SAMPLE = readFileSync(SAMPLE_FILE);
const LARGE_SIZE = 5 * 1024 * 1024;

function newKey(extension = 'mp4'): string {
  return `v_${randomUUID().replaceAll('-', '')}.${extension}`;
}

function tempFolder(label: string): string {
  return mkdtempSync(join(tmpdir(), `gateway-${label}-`));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the server saw of one answered request. */
interface ServedRequest {
  refusal?: StoreRefusal;
  closed: boolean;
  finished: boolean;
}

/** A node:http server whose only route is `GET|HEAD /?key=<key>` → store.serve; refusals become JSON with their status. */
interface VideoHttpServer {
  urlFor(key: string): string;
  port: number;
  served: ServedRequest[];
  close(): Promise<void>;
}

async function startVideoHttpServer(store: VideoStore): Promise<VideoHttpServer> {
  const served: ServedRequest[] = [];
  // The key travels in the query string so that '..' reaches the store as written, unnormalised.
  const server: Server = createServer((req, res) => {
    const record: ServedRequest = { closed: false, finished: false };
    served.push(record);
    res.on('close', () => {
      record.closed = true;
      record.finished = res.writableFinished;
    });
    const key = new URL(req.url ?? '/', 'http://localhost').searchParams.get('key') ?? '';
    store.serve(req, res, key, (refusal) => {
      record.refusal = refusal;
      if (res.headersSent) throw new Error('onRefused called after the headers were sent');
      const body = JSON.stringify({ status: refusal.status });
      res.writeHead(refusal.status, { ...refusal.headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    served,
    urlFor: (key) => `http://127.0.0.1:${port}/?key=${encodeURIComponent(key)}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The raw bytes of a HEAD answer, read off the socket until the server closes it. */
async function rawHead(port: number, key: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(`HEAD /?key=${encodeURIComponent(key)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * A GET through node:http. fetch() adds `Cache-Control: no-cache` to any request carrying
 * If-None-Match (the Fetch standard's cache mode rules), which rightly defeats a 304; browsers'
 * own revalidations and video players do not send it.
 */
async function plainGet(url: string, headers: Record<string, string>): Promise<{ status: number; etag: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, etag: response.headers.etag, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    }).on('error', reject);
  });
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** One way of opening a store, each time in a namespace of its own (folder, or bucket prefix). */
interface Backend {
  kind: 'folder' | 's3';
  setUp(): Promise<void>;
  open(): Promise<VideoStore>;
  cleanUp(): Promise<void>;
  tearDown(): Promise<void>;
}

function folderBackend(): Backend {
  const folders: string[] = [];
  return {
    kind: 'folder',
    async setUp() {},
    async open() {
      const folder = tempFolder('videos');
      folders.push(folder);
      return openFolderVideoStore(join(folder, 'videos'));
    },
    async cleanUp() {
      for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
    },
    async tearDown() {},
  };
}

function s3Backend(): Backend {
  let s3: RunningS3Server | undefined;
  const folders: string[] = [];
  return {
    kind: 's3',
    async setUp() {
      s3 = await startS3Server();
    },
    async open() {
      if (!s3) throw new Error('s3rver not started');
      const scratchDirectory = tempFolder('s3-scratch');
      folders.push(scratchDirectory);
      return openS3VideoStore(s3Options(s3, { prefix: `test-${randomUUID()}`, scratchDirectory }));
    },
    async cleanUp() {
      for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
    },
    async tearDown() {
      await s3?.close();
    },
  };
}

function s3Options(s3: RunningS3Server, overrides: Partial<S3VideoStoreOptions> & Pick<S3VideoStoreOptions, 'scratchDirectory'>): S3VideoStoreOptions {
  return {
    bucket: s3.bucket,
    prefix: '',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    ...overrides,
  };
}

describe('isVideoKey', () => {
  it('accepts <16..64 of [A-Za-z0-9_-]>.mp4 or .gif and nothing else', () => {
    expect(isVideoKey(`${'a'.repeat(16)}.mp4`)).toBe(true);
    expect(isVideoKey(`${'Z9_-'.repeat(16)}.gif`)).toBe(true);
    for (const key of [
      `${'a'.repeat(15)}.mp4`,
      `${'a'.repeat(65)}.mp4`,
      `${'a'.repeat(16)}.mov`,
      `${'a'.repeat(16)}.MP4`,
      `${'a'.repeat(16)}.mp4/`,
      `.${'a'.repeat(16)}.mp4`,
      `../${'a'.repeat(16)}.mp4`,
      `x/../${'a'.repeat(16)}.mp4`,
      `${'a'.repeat(16)}.mp4\n`,
      '../etc/passwd',
      '',
    ]) {
      expect(isVideoKey(key), key).toBe(false);
    }
  });
});

describe.each([folderBackend(), s3Backend()])('$kind video store', (backend) => {
  let store: VideoStore;
  let server: VideoHttpServer;

  beforeAll(() => backend.setUp());
  afterAll(() => backend.tearDown());
  beforeEach(async () => {
    store = await backend.open();
    server = await startVideoHttpServer(store);
  });
  afterEach(async () => {
    await server.close();
    await store.close();
    await backend.cleanUp();
  });

  /** Puts a copy of `content` (the sample clip by default), as the copier would from scratchDirectory. */
  async function putCopy(key: string, content: Buffer = SAMPLE, contentType = 'video/mp4'): Promise<void> {
    const file = join(store.scratchDirectory, `download-${randomUUID()}`);
    writeFileSync(file, content);
    await store.put(key, file, contentType);
    rmSync(file, { force: true });
  }

  it('names its kind and has a scratch folder on local disk', () => {
    expect(store.kind).toBe(backend.kind);
    expect(statSync(store.scratchDirectory).isDirectory()).toBe(true);
  });

  it('serves the whole file with its type, length and validators', async () => {
    const key = newKey();
    await putCopy(key);
    const response = await fetch(server.urlFor(key));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe(String(SAMPLE.length));
    expect(response.headers.get('etag')).toMatch(/^(W\/)?".+"$/);
    expect(Number.isNaN(Date.parse(response.headers.get('last-modified') ?? ''))).toBe(false);
    expect((await bytesOf(response)).equals(SAMPLE)).toBe(true);
  });

  it('answers a byte range with 206, the exact bytes and Content-Range', async () => {
    const key = newKey();
    await putCopy(key);
    const response = await fetch(server.urlFor(key), { headers: { range: 'bytes=10-99' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 10-99/${SAMPLE.length}`);
    expect(response.headers.get('content-length')).toBe('90');
    expect((await bytesOf(response)).equals(SAMPLE.subarray(10, 100))).toBe(true);
  });

  it('answers a suffix range with the last bytes', async () => {
    const key = newKey();
    await putCopy(key);
    const response = await fetch(server.urlFor(key), { headers: { range: 'bytes=-100' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${SAMPLE.length - 100}-${SAMPLE.length - 1}/${SAMPLE.length}`);
    expect((await bytesOf(response)).equals(SAMPLE.subarray(SAMPLE.length - 100))).toBe(true);
  });

  it('answers an open-ended range to the end of the file', async () => {
    const key = newKey();
    await putCopy(key);
    const response = await fetch(server.urlFor(key), { headers: { range: 'bytes=9000-' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 9000-${SAMPLE.length - 1}/${SAMPLE.length}`);
    expect((await bytesOf(response)).equals(SAMPLE.subarray(9000))).toBe(true);
  });

  it('answers HEAD with the headers and no body', async () => {
    const key = newKey();
    await putCopy(key);
    const raw = await rawHead(server.port, key);
    const [head = '', body] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\ncontent-type: video\/mp4/i);
    expect(head).toMatch(new RegExp(`\\r\\ncontent-length: ${SAMPLE.length}\\r\\n`, 'i'));
    expect(head).toMatch(/\r\naccept-ranges: bytes/i);
    expect(head).toMatch(/\r\netag: /i);
    expect(body).toBe('');
  });

  it('refuses a range outside the file with 416 and Content-Range bytes */size', async () => {
    const key = newKey();
    await putCopy(key);
    const response = await fetch(server.urlFor(key), { headers: { range: `bytes=${SAMPLE.length + 10}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${SAMPLE.length}`);
    expect(await response.json()).toEqual({ status: 416 });
  });

  it('answers If-None-Match with the current ETag by 304', async () => {
    const key = newKey();
    await putCopy(key);
    const first = await fetch(server.urlFor(key));
    const etag = first.headers.get('etag');
    await first.arrayBuffer();
    expect(etag).toBeTruthy();
    const again = await plainGet(server.urlFor(key), { 'if-none-match': etag ?? '' });
    expect(again.status).toBe(304);
    expect(again.etag).toBe(etag);
    expect(again.body.length).toBe(0);
    // A stale validator gets the content.
    const stale = await plainGet(server.urlFor(key), { 'if-none-match': '"not-the-etag"' });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(SAMPLE)).toBe(true);
  });

  it('refuses a key it never stored with 404', async () => {
    const response = await fetch(server.urlFor(newKey()));
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ status: 404 });
  });

  it('forgets deleted objects, and deleting again (or deleting nothing) is fine', async () => {
    const key = newKey();
    const other = newKey('gif');
    await putCopy(key);
    await putCopy(other, SAMPLE, 'image/gif');
    await store.delete([key]);
    expect((await fetch(server.urlFor(key))).status).toBe(404);
    await expect(store.delete([key])).resolves.toBeUndefined();
    await expect(store.delete([key, newKey(), other])).resolves.toBeUndefined();
    expect((await fetch(server.urlFor(other))).status).toBe(404);
    await expect(store.delete([])).resolves.toBeUndefined();
  });

  it('refuses keys that are not video keys: 404 from serve, rejection from put and delete', async () => {
    const key = newKey();
    await putCopy(key);
    // Each of these would name the stored object (or escape the store) if it reached a path join.
    for (const hostile of ['../etc/passwd', 'x/../../y.mp4', `x/../${key}`, `./${key}`, `/${key}`, `%2e%2e/${key}`]) {
      const response = await fetch(server.urlFor(hostile));
      expect(response.status, hostile).toBe(404);
      expect(await response.json()).toEqual({ status: 404 });
    }
    const file = join(store.scratchDirectory, `download-${randomUUID()}`);
    writeFileSync(file, SAMPLE);
    await expect(store.put('../etc/passwd', file, 'video/mp4')).rejects.toThrow(/not a video key/);
    await expect(store.put(`x/../../escaped-${randomUUID()}.mp4`, file, 'video/mp4')).rejects.toThrow(/not a video key/);
    await expect(store.delete([key, `../${key}`])).rejects.toThrow(/not a video key/);
    // Nothing was deleted by the refused call, and the file handed to the refused puts is untouched.
    expect((await fetch(server.urlFor(key))).status).toBe(200);
    expect(readFileSync(file).equals(SAMPLE)).toBe(true);
  });

  it('replaces an existing object on put', async () => {
    const key = newKey();
    await putCopy(key);
    const replacement = randomBytes(4321);
    await putCopy(key, replacement);
    const response = await fetch(server.urlFor(key));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('4321');
    expect((await bytesOf(response)).equals(replacement)).toBe(true);
  });

  it('survives a client that goes away mid-stream, and serves the next request', async () => {
    const key = newKey();
    const large = randomBytes(LARGE_SIZE);
    await putCopy(key, large);

    const received = await new Promise<number>((resolve, reject) => {
      const request = get(server.urlFor(key), (response) => {
        response.once('data', (chunk: Buffer) => {
          // Gone after the first chunk, with most of the 5 MB still to come.
          request.destroy();
          resolve(chunk.length);
        });
      });
      request.on('error', (error) => {
        if (!request.destroyed) reject(error);
      });
    });
    expect(received).toBeLessThan(LARGE_SIZE);
    await waitFor(() => server.served[0]?.closed === true, 'the server to see the aborted response close');
    // The server saw the response cut short (not completed into socket buffers), and refused nothing after the headers.
    expect(server.served[0]?.finished).toBe(false);
    expect(server.served[0]?.refusal).toBeUndefined();

    const next = await fetch(server.urlFor(key));
    expect(next.status).toBe(200);
    expect((await bytesOf(next)).equals(large)).toBe(true);
    const range = await fetch(server.urlFor(key), { headers: { range: `bytes=${LARGE_SIZE - 10}-` } });
    expect((await bytesOf(range)).equals(large.subarray(LARGE_SIZE - 10))).toBe(true);
  });
});

describe('folder video store specifics', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });
  function folder(): string {
    const created = tempFolder('folder-store');
    folders.push(created);
    return created;
  }

  it('removes leftovers in .partial at open, and keeps the stored videos', async () => {
    const directory = join(folder(), 'videos');
    const first = await openFolderVideoStore(directory);
    expect(first.scratchDirectory).toBe(join(directory, '.partial'));
    const key = newKey();
    const download = join(first.scratchDirectory, 'download-1');
    writeFileSync(download, SAMPLE);
    await first.put(key, download, 'video/mp4');
    // put renamed the download into place: nothing left behind.
    expect(existsSync(download)).toBe(false);
    // A crash leaves a half-written download and a half-copied temporary behind.
    writeFileSync(join(first.scratchDirectory, 'download-2'), 'half a video');
    mkdirSync(join(first.scratchDirectory, 'nested'));
    writeFileSync(join(first.scratchDirectory, 'nested', 'part'), 'x');
    await first.close();

    const reopened = await openFolderVideoStore(directory);
    expect(await readdir(reopened.scratchDirectory)).toEqual([]);
    expect(readFileSync(join(directory, key)).equals(SAMPLE)).toBe(true);
    await reopened.close();
  });

  it('never serves what is in .partial, even by a crafted name', async () => {
    const directory = join(folder(), 'videos');
    const store = await openFolderVideoStore(directory);
    const server = await startVideoHttpServer(store);
    try {
      const key = newKey();
      writeFileSync(join(store.scratchDirectory, key), SAMPLE);
      for (const name of [`.partial/${key}`, key]) {
        expect((await fetch(server.urlFor(name))).status, name).toBe(404);
      }
    } finally {
      await server.close();
      await store.close();
    }
  });

  // /dev/shm is a tmpfs on Linux: a file there cannot be renamed into a store on the disk.
  const otherFilesystem = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev ? '/dev/shm' : undefined;
  it.skipIf(otherFilesystem === undefined)('copies a file from another filesystem into place (no rename across filesystems)', async () => {
    const directory = join(folder(), 'videos');
    const store = await openFolderVideoStore(directory);
    const elsewhere = mkdtempSync(join(otherFilesystem ?? tmpdir(), 'gateway-elsewhere-'));
    try {
      const file = join(elsewhere, 'download');
      writeFileSync(file, SAMPLE);
      const key = newKey();
      await store.put(key, file, 'video/mp4');
      expect(readFileSync(join(directory, key)).equals(SAMPLE)).toBe(true);
      // The temporary copy was renamed into place, and the caller's file is still there for it to delete.
      expect(await readdir(store.scratchDirectory)).toEqual([]);
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
      await store.close();
    }
  });
});

describe('S3 video store specifics', () => {
  let s3: RunningS3Server;
  const folders: string[] = [];
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(() => s3.close());
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });
  function scratch(): string {
    const created = tempFolder('s3-scratch');
    folders.push(created);
    return created;
  }

  async function listKeys(prefix: string): Promise<string[]> {
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((object) => object.Key ?? '');
    } finally {
      client.destroy();
    }
  }

  async function putSample(store: VideoStore, key: string): Promise<void> {
    const file = join(store.scratchDirectory, 'download');
    writeFileSync(file, SAMPLE);
    await store.put(key, file, 'video/mp4');
    rmSync(file);
  }

  it('stores objects under prefix/key, without doubled slashes', async () => {
    const prefix = `p-${randomUUID()}`;
    const store = await openS3VideoStore(s3Options(s3, { prefix: `/${prefix}/videos/`, scratchDirectory: scratch() }));
    try {
      const key = newKey();
      await putSample(store, key);
      expect(await listKeys(prefix)).toEqual([`${prefix}/videos/${key}`]);
      await store.delete([key]);
      expect(await listKeys(prefix)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('stores objects at the top of the bucket with an empty prefix', async () => {
    const store = await openS3VideoStore(s3Options(s3, { prefix: '', scratchDirectory: scratch() }));
    try {
      const key = newKey();
      await putSample(store, key);
      expect(await listKeys(key)).toEqual([key]);
      await store.delete([key]);
      expect(await listKeys(key)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('creates its scratch folder and removes leftovers in it at open', async () => {
    const scratchDirectory = join(scratch(), 'partial');
    const first = await openS3VideoStore(s3Options(s3, { scratchDirectory }));
    expect(first.scratchDirectory).toBe(scratchDirectory);
    expect(await readdir(scratchDirectory)).toEqual([]);
    writeFileSync(join(scratchDirectory, 'download-1'), 'half a video');
    await first.close();
    const reopened = await openS3VideoStore(s3Options(s3, { scratchDirectory }));
    expect(await readdir(scratchDirectory)).toEqual([]);
    await reopened.close();
  });

  it('refuses to open on a bucket that does not exist, in one line naming it and no secret', async () => {
    const scratchDirectory = join(scratch(), 'partial');
    const opening = openS3VideoStore(
      s3Options(s3, { bucket: 'no-such-gateway-bucket', scratchDirectory, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-do-not-log' } }),
    );
    const error = await opening.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('"no-such-gateway-bucket"');
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/secret-do-not-log|AKIDEXAMPLE/);
    // Nothing was prepared for a store that did not open.
    expect(existsSync(scratchDirectory)).toBe(false);
  });

  it('refuses to open when nothing answers at the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const opening = openS3VideoStore(s3Options(s3, { endpoint: `http://127.0.0.1:${port}`, scratchDirectory: join(scratch(), 'partial') }));
    await expect(opening).rejects.toThrow(new RegExp(`^S3 bucket "${s3.bucket}" is not reachable \\([^\\n]+\\)$`));
  });

});
