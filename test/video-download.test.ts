// The video downloader copies an upstream link into a local file within bounds. Above all: it never
// connects to a private, loopback or link-local address unless the origin is the configured upstream
// or the embedded simulator (trusted by configuration), and the tests below prove the refusal by
// counting the connections a real loopback server receives. Real HTTP over 127.0.0.1 (and ::1);
// nothing here resolves a DNS name other than `localhost` or connects off this machine: the
// public-looking addresses are refused before any connect, and the only check of public addresses
// is a unit check of the address guard.
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { guardedLookup, isPublicAddress } from '../src/videos/download-address-guard.js';
import { createVideoDownloader, VideoDownloadError, type DownloadLimits, type VideoDownloader } from '../src/videos/video-download.js';

const SAMPLE_VIDEO = new URL('../src/simulator/assets/sample.mp4', import.meta.url);
/** A 1×1 GIF89a. */
const SAMPLE_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const LIMITS: DownloadLimits = { maxBytes: 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 };

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  port: number;
  /** TCP connections accepted so far: the proof that a refused download never connected. */
  connections: number;
  /** Requests received so far. */
  requests: string[];
  /** Stops listening and cuts open connections (also done after each test). */
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Servers last: a downloader's close() waits for its connections to end.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server, host: string): Promise<boolean> {
  server.listen(0, host);
  try {
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  }
}

async function startServer(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  const state: TestServer = { origin: '', port: 0, connections: 0, requests: [], close };
  const server = createServer((request, response) => {
    state.requests.push(request.url ?? '');
    handler(request, response);
  });
  server.on('connection', () => state.connections++);
  if (!(await listen(server, host))) throw new Error(`cannot listen on ${host}`);
  state.port = (server.address() as AddressInfo).port;
  state.origin = host.includes(':') ? `http://[${host}]:${state.port}` : `http://${host}:${state.port}`;
  cleanups.unshift(close);
  return state;
}

/** A server on ::1, or null where this machine has no IPv6 loopback. */
async function startIpv6Server(handler: Handler): Promise<TestServer | null> {
  try {
    return await startServer(handler, '::1');
  } catch {
    return null;
  }
}

function downloader(trustedOrigins: string[], limits: Partial<DownloadLimits> = {}): VideoDownloader {
  const created = createVideoDownloader({ limits: { ...LIMITS, ...limits }, trustedOrigins });
  cleanups.push(() => created.close());
  return created;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'video-download-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function downloadError(promise: Promise<unknown>): Promise<VideoDownloadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VideoDownloadError);
    return error as VideoDownloadError;
  }
  throw new Error('the download succeeded');
}

async function expectNoFile(path: string): Promise<void> {
  await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
}

/** Serves `body` whole with the given headers. */
function serve(body: Buffer, headers: Record<string, string | number> = {}): Handler {
  return (_request, response) => {
    response.writeHead(200, headers);
    response.end(body);
  };
}

describe('trusted origins download real videos', () => {
  it('copies the sample MP4 byte for byte, fsynced, over a trusted loopback origin', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer(serve(sample, { 'content-type': 'video/mp4', 'content-length': sample.length }));
    const destination = join(await tempDir(), 'video.mp4');

    const video = await downloader([server.origin]).download(`${server.origin}/videos/demo.mp4?token=abc`, destination);
    expect(video).toEqual({ bytes: sample.length, format: 'MP4', contentType: 'video/mp4' });
    expect((await readFile(destination)).equals(sample)).toBe(true);
    expect(server.requests).toEqual(['/videos/demo.mp4?token=abc']);
  });

  it('copies a GIF sent without a length, and overwrites what was at the destination', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/gif' });
      // Two writes: chunked, and the first chunk shorter than the signature.
      response.write(SAMPLE_GIF.subarray(0, 3));
      response.end(SAMPLE_GIF.subarray(3));
    });
    const destination = join(await tempDir(), 'video.gif');
    const previous = Buffer.alloc(SAMPLE_GIF.length * 4, 'x');
    await writeFile(destination, previous);

    const video = await downloader([server.origin]).download(`${server.origin}/a.gif`, destination);
    expect(video).toEqual({ bytes: SAMPLE_GIF.length, format: 'GIF', contentType: 'image/gif' });
    expect((await readFile(destination)).equals(SAMPLE_GIF)).toBe(true);
  });

  it.each([['application/octet-stream'], ['binary/octet-stream'], ['video/quicktime'], [null]])(
    'takes an MP4 labelled %s by its magic bytes',
    async (contentType) => {
      const sample = await readFile(SAMPLE_VIDEO);
      const server = await startServer(serve(sample, contentType === null ? {} : { 'content-type': contentType }));
      const destination = join(await tempDir(), 'video.mp4');
      const video = await downloader([server.origin]).download(`${server.origin}/v`, destination);
      expect(video.format).toBe('MP4');
      expect((await readFile(destination)).equals(sample)).toBe(true);
    },
  );

  it('normalises the trusted origins it is given (a trailing slash, a path)', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer(serve(sample, { 'content-type': 'video/mp4' }));
    const destination = join(await tempDir(), 'video.mp4');
    const video = await downloader([`${server.origin}/some/base/`]).download(`${server.origin}/v.mp4`, destination);
    expect(video.bytes).toBe(sample.length);
  });
});

describe('non-public addresses are refused unless the origin is trusted', () => {
  it('never connects to loopback, however the address is written, and downloads the same server once trusted', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer(serve(sample, { 'content-type': 'video/mp4' }));
    const ipv6Server = await startIpv6Server(serve(sample, { 'content-type': 'video/mp4' }));
    const ipv6Port = ipv6Server?.port ?? server.port;
    const dir = await tempDir();
    // Trusts another origin only: the loopback server itself is not trusted under any spelling.
    const untrusting = downloader(['http://127.0.0.1:1']);

    const refused = [
      `http://127.0.0.1:${server.port}/v.mp4`,
      // A name: judged by the guarded lookup at connect time.
      `http://localhost:${server.port}/v.mp4`,
      `http://[::1]:${ipv6Port}/v.mp4`,
      // The URL parser turns these into 127.0.0.1; the check must judge the parsed host.
      `http://2130706433:${server.port}/v.mp4`,
      `http://0x7f.1:${server.port}/v.mp4`,
      `http://127.1:${server.port}/v.mp4`,
      `http://[::ffff:127.0.0.1]:${server.port}/v.mp4`,
      // Connecting to 0.0.0.0 reaches this machine on Linux.
      `http://0.0.0.0:${server.port}/v.mp4`,
    ];
    for (const [index, url] of refused.entries()) {
      const destination = join(dir, `refused-${index}.mp4`);
      const error = await downloadError(untrusting.download(url, destination));
      expect({ url, code: error.code, retryable: error.retryable }).toEqual({ url, code: 'ADDRESS_REFUSED', retryable: false });
      await expectNoFile(destination);
    }
    expect(server.connections).toBe(0);
    expect(server.requests).toEqual([]);
    expect(ipv6Server?.connections ?? 0).toBe(0);

    // The counters can move: the same server, trusted by origin, is connected to and downloaded from.
    const trusting = downloader([server.origin, ...(ipv6Server ? [ipv6Server.origin] : [])]);
    await trusting.download(`${server.origin}/v.mp4`, join(dir, 'trusted.mp4'));
    expect(server.connections).toBeGreaterThan(0);
    if (ipv6Server) {
      await trusting.download(`${ipv6Server.origin}/v.mp4`, join(dir, 'trusted-v6.mp4'));
      expect(ipv6Server.connections).toBeGreaterThan(0);
    }
    // Trust is by origin, not by host: another port on the same trusted host stays refused.
    const otherPort = await downloadError(trusting.download(`http://127.0.0.1:${server.port === 1 ? 2 : 1}/v.mp4`, join(dir, 'other.mp4')));
    expect(otherPort.code).toBe('ADDRESS_REFUSED');
  });

  it.each([
    ['cloud metadata (link-local)', 'http://169.254.169.254/latest/meta-data/'],
    ['a private network', 'http://10.0.0.1/v.mp4'],
    ['another private network, https', 'https://192.168.1.1/v.mp4'],
    ['carrier-grade NAT', 'http://100.64.0.1/v.mp4'],
    ['an IPv6 unique-local address', 'http://[fc00::1]/v.mp4'],
    ['an IPv6 link-local address', 'http://[fe80::1]/v.mp4'],
  ])('refuses %s before connecting', async (_name, url) => {
    const destination = join(await tempDir(), 'video.mp4');
    // An already-aborted signal: the refusal must come from the URL alone, and a downloader whose
    // address check broke would stop at its abort check (ABORTED, failing the test) rather than send
    // a packet off this machine.
    const error = await downloadError(downloader([]).download(url, destination, AbortSignal.abort()));
    expect(error.code).toBe('ADDRESS_REFUSED');
    expect(error.retryable).toBe(false);
    await expectNoFile(destination);
  });

  it('refuses a redirect from a trusted origin to an untrusted loopback one at the hop, without connecting', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const target = await startServer(serve(sample, { 'content-type': 'video/mp4' }));
    const trusted = await startServer((request, response) => {
      const to = request.url === '/by-name' ? `http://localhost:${target.port}/v.mp4?sig=secret456` : `http://127.0.0.1:${target.port}/v.mp4?sig=secret456`;
      response.writeHead(302, { location: to });
      response.end();
    });
    const dir = await tempDir();
    const download = downloader([trusted.origin]);

    for (const path of ['/by-address', '/by-name']) {
      const destination = join(dir, `${path.slice(1)}.mp4`);
      const error = await downloadError(download.download(`${trusted.origin}${path}`, destination));
      expect(error.code).toBe('ADDRESS_REFUSED');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(`:${target.port}/v.mp4`);
      expect(String(error)).not.toContain('secret456');
      await expectNoFile(destination);
    }
    expect(trusted.requests).toEqual(['/by-address', '/by-name']);
    expect(target.connections).toBe(0);
  });
});

describe('redirects', () => {
  it('follows relative and absolute redirects between trusted origins, each status in turn', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const second = await startServer(serve(sample, { 'content-type': 'video/mp4' }));
    const dir = await tempDir();
    for (const status of [301, 302, 303, 307, 308]) {
      const first = await startServer((request, response) => {
        if (request.url === '/start') {
          response.writeHead(status, { location: '/moved?x=1' });
        } else {
          response.writeHead(status, { location: `${second.origin}/final.mp4` });
        }
        response.end();
      });
      const destination = join(dir, `${status}.mp4`);
      const video = await downloader([first.origin, second.origin]).download(`${first.origin}/start`, destination);
      expect(video.bytes).toBe(sample.length);
      expect(first.requests).toEqual(['/start', '/moved?x=1']);
    }
    expect(second.requests).toHaveLength(5);
  });

  it('stops after maxRedirects', async () => {
    const loop = await startServer((request, response) => {
      response.writeHead(302, { location: `/hop${request.url?.length ?? 0}` });
      response.end();
    });
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([loop.origin], { maxRedirects: 2 }).download(`${loop.origin}/`, destination));
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.retryable).toBe(false);
    // The first request and two redirects followed; the third redirect is not.
    expect(loop.requests).toHaveLength(3);
  });

  it('refuses a redirect without a Location, and one to a scheme other than http(s)', async () => {
    const server = await startServer((request, response) => {
      if (request.url === '/no-location') response.writeHead(302);
      else response.writeHead(302, { location: 'file:///etc/passwd' });
      response.end();
    });
    const dir = await tempDir();
    const download = downloader([server.origin]);
    const noLocation = await downloadError(download.download(`${server.origin}/no-location`, join(dir, 'a.mp4')));
    expect(noLocation).toMatchObject({ code: 'HTTP_STATUS', retryable: false, status: 302 });
    const toFile = await downloadError(download.download(`${server.origin}/to-file`, join(dir, 'b.mp4')));
    expect(toFile).toMatchObject({ code: 'SCHEME_REFUSED', retryable: false });
    expect(toFile.message).not.toContain('/etc/passwd');
  });
});

describe('schemes', () => {
  it.each([['ftp://127.0.0.1/v.mp4'], ['file:///etc/passwd'], ['data:video/mp4;base64,AAAAGGZ0eXBpc29t'], ['javascript:alert(1)'], ['not a url']])(
    'refuses %s',
    async (url) => {
      const destination = join(await tempDir(), 'video.mp4');
      const error = await downloadError(downloader([]).download(url, destination));
      expect(error.code).toBe('SCHEME_REFUSED');
      expect(error.retryable).toBe(false);
      // Neither a local path nor inline content ends up in a log line.
      expect(error.message).not.toMatch(/passwd|AAAAGG|alert/);
      await expectNoFile(destination);
    },
  );
});

describe('size cap', () => {
  it('refuses a declared content-length over the cap before writing anything', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 10 * 1024 * 1024 });
      // Starts a body it never finishes: the downloader must not wait for it.
      response.write(sample);
    });
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin]).download(`${server.origin}/big.mp4`, destination));
    expect(error).toMatchObject({ code: 'TOO_LARGE', retryable: false });
    await expectNoFile(destination);
  });

  it('counts a body sent without a length, and removes the partial file', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const maxBytes = 64 * 1024;
    let sent = 0;
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4' });
      // A valid MP4 start, then filler, far past the cap unless the client hangs up.
      const pump = (): void => {
        while (sent < 20 * maxBytes && !response.destroyed) {
          const chunk = sent === 0 ? sample : Buffer.alloc(8 * 1024);
          sent += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      response.on('close', () => (sent = Number.POSITIVE_INFINITY));
      pump();
    });
    const dir = await tempDir();
    const destination = join(dir, 'video.mp4');
    const error = await downloadError(downloader([server.origin], { maxBytes }).download(`${server.origin}/stream.mp4`, destination));
    expect(error).toMatchObject({ code: 'TOO_LARGE', retryable: false });
    await expectNoFile(destination);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('time, cancellation and the network', () => {
  it('times out a server that stalls mid-body, and removes the partial file', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': sample.length * 2 });
      response.write(sample);
      // …and nothing more.
    });
    const dir = await tempDir();
    const destination = join(dir, 'video.mp4');
    const error = await downloadError(downloader([server.origin], { timeoutMs: 300 }).download(`${server.origin}/slow.mp4`, destination));
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    await expectNoFile(destination);
    expect(await readdir(dir)).toEqual([]);
  });

  it('times out a server that never answers', async () => {
    const server = await startServer(() => undefined);
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin], { timeoutMs: 300 }).download(`${server.origin}/silent.mp4`, destination));
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    await expectNoFile(destination);
  });

  it('stops when the caller aborts mid-body', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    let bodyStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (bodyStarted = resolve));
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4' });
      response.write(sample, () => bodyStarted());
    });
    const destination = join(await tempDir(), 'video.mp4');
    const controller = new AbortController();
    const pending = downloadError(downloader([server.origin]).download(`${server.origin}/v.mp4`, destination, controller.signal));
    await started;
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ABORTED');
    await expectNoFile(destination);
  });

  it('reports a connection cut mid-body as a retryable network failure', async () => {
    const sample = await readFile(SAMPLE_VIDEO);
    const server = await startServer((request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': sample.length * 2 });
      response.write(sample, () => request.socket.destroy());
    });
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin]).download(`${server.origin}/v.mp4`, destination));
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    await expectNoFile(destination);
  });

  it('reports a refused connection on a trusted origin as a retryable network failure', async () => {
    const server = await startServer(() => undefined);
    const origin = server.origin;
    // Nothing listens on that port any more.
    await server.close();
    const error = await downloadError(downloader([origin]).download(`${origin}/v.mp4`, join(await tempDir(), 'video.mp4')));
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });
});

describe('what the server answers', () => {
  it.each([
    ['text/html; charset=utf-8', Buffer.from('<!doctype html><html><body>Access denied</body></html>')],
    ['application/json', Buffer.from('{"error":"expired"}')],
    // The header is refused even when the bytes would pass.
    ['text/plain', SAMPLE_GIF],
  ])('refuses a %s body as NOT_VIDEO', async (contentType, body) => {
    const server = await startServer(serve(body, { 'content-type': contentType }));
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin]).download(`${server.origin}/v.mp4`, destination));
    expect(error).toMatchObject({ code: 'NOT_VIDEO', retryable: false });
    await expectNoFile(destination);
  });

  it.each([
    ['an HTML page labelled video/mp4', Buffer.from('<!doctype html><html><body>nope</body></html>')],
    ['an empty body', Buffer.alloc(0)],
    ['a PNG', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')],
  ])('refuses %s by its magic bytes', async (_name, body) => {
    const server = await startServer(serve(body, { 'content-type': 'video/mp4' }));
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin]).download(`${server.origin}/v.mp4`, destination));
    expect(error).toMatchObject({ code: 'NOT_VIDEO', retryable: false });
    await expectNoFile(destination);
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    // A signed link that expired, or an object the CDN has not got yet: worth a retry with a fresh link.
    [403, true],
    [404, true],
    [400, false],
    [401, false],
    [410, false],
    [206, false],
  ])('answers HTTP %i with HTTP_STATUS, retryable: %s', async (status, retryable) => {
    const server = await startServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end('no');
    });
    const destination = join(await tempDir(), 'video.mp4');
    const error = await downloadError(downloader([server.origin]).download(`${server.origin}/v.mp4`, destination));
    expect(error).toMatchObject({ code: 'HTTP_STATUS', retryable, status });
    await expectNoFile(destination);
  });

  it('never puts the query string in an error', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(403);
      response.end('expired');
    });
    const dir = await tempDir();
    const failures = [
      await downloadError(downloader([server.origin]).download(`${server.origin}/videos/v.mp4?token=secret123&sig=secret123`, join(dir, 'a.mp4'))),
      await downloadError(downloader([]).download(`http://127.0.0.1:${server.port}/videos/v.mp4?token=secret123`, join(dir, 'b.mp4'))),
      // Already-aborted signals: refused from the URL alone, or stopped before any lookup or connect.
      await downloadError(downloader([]).download(`ftp://example.test/v.mp4?token=secret123`, join(dir, 'c.mp4'), AbortSignal.abort())),
      await downloadError(downloader([]).download(`https://user:secret123@[fe80::1]/v.mp4#secret123`, join(dir, 'd.mp4'), AbortSignal.abort())),
    ];
    expect(failures.map((error) => error.code)).toEqual(['HTTP_STATUS', 'ADDRESS_REFUSED', 'SCHEME_REFUSED', 'ADDRESS_REFUSED']);
    for (const error of failures) {
      expect(error.message).not.toContain('secret123');
      expect(String(error)).not.toContain('secret123');
    }
    // It still says where: scheme, host and path.
    expect(failures[0]!.message).toContain(`${server.origin}/videos/v.mp4`);
    expect(String(failures[0])).toMatch(/^VideoDownloadError: /);
  });
});

describe('the address guard', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['255.255.255.255', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['2002:7f00:1::', false],
    ['64:ff9b::7f00:1', false],
    ['not an address', false],
    ['', false],
    ['8.8.8.8', true],
    ['::ffff:8.8.8.8', true],
    ['2606:4700::1111', true],
  ])('isPublicAddress(%j) is %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  // IP literals: dns.lookup answers them itself, without asking any resolver.
  function lookup(hostname: string, all: boolean): Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family: unknown }> {
    return new Promise((resolve) => guardedLookup(hostname, { all }, (error, address, family) => resolve({ error, address, family })));
  }

  it('answers in the shape asked for: a list with all: true, one address and family otherwise', async () => {
    expect(await lookup('8.8.8.8', true)).toEqual({ error: null, address: [{ address: '8.8.8.8', family: 4 }], family: undefined });
    expect(await lookup('8.8.8.8', false)).toEqual({ error: null, address: '8.8.8.8', family: 4 });
    expect(await lookup('2606:4700::1111', false)).toEqual({ error: null, address: '2606:4700::1111', family: 6 });
  });

  it.each([
    ['localhost', true],
    ['localhost', false],
    ['127.0.0.1', false],
    ['::1', true],
  ])('refuses %s (all: %s) with the VIDEO_ADDRESS_REFUSED code', async (hostname, all) => {
    const { error } = await lookup(hostname, all);
    expect(error?.code).toBe('VIDEO_ADDRESS_REFUSED');
  });
});
