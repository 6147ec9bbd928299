// The GraphiQL page and its files over real HTTP: a small page under a Content-Security-Policy, five
// files from a fixed list (the UMD builds from node_modules and our start-up script), each byte for
// byte, gzipped when asked, cacheable for good under a URL that changes with its bytes; nothing else
// under the prefix, whatever the spelling; no key needed, and nothing at all with GraphiQL off.
// (test/browser/graphiql.test.ts runs the page itself in Chromium.)
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/graphiql-examples.js';
import { startStack, type Stack } from './support/stack.js';

const KEY = 'k-assets-0123456789abcdef';
const KEYED_ENV = { GATEWAY_API_KEYS: `web:${KEY}`, GATEWAY_ID_SECRET: 'assets-test-id-secret-0123456789abcdef' };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as sent, not decoded. */
  body: Buffer;
}

/** One request with the path exactly as written (fetch would normalise `..` away) and the body as sent. */
function send(baseUrl: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const page = (baseUrl: string) => send(baseUrl, '/graphql', { accept: 'text/html' });

/** The asset URLs the page loads, by file name (relative in the page: `./graphiql/…`). */
function assetUrls(html: string): Map<string, string> {
  const urls = [...html.matchAll(/(?:src|href)="\.(\/graphiql\/[^"]+)"/g)].map((match) => match[1]!);
  return new Map(urls.map((url) => [url.slice(url.lastIndexOf('/') + 1), url]));
}

const fromPackage = (name: string, file: string) => readFileSync(join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), file));
const EXPECTED_FILES: Record<string, { bytes: Buffer; type: string }> = {
  'react.production.min.js': { bytes: fromPackage('react', 'umd/react.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'react-dom.production.min.js': { bytes: fromPackage('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphiql.min.js': { bytes: fromPackage('graphiql', 'graphiql.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphiql.min.css': { bytes: fromPackage('graphiql', 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
  'start-graphiql.js': { bytes: readFileSync(new URL('../src/http/graphiql-browser/start-graphiql.js', import.meta.url)), type: 'text/javascript; charset=utf-8' },
};

let open: Stack;
let keyed: Stack;
let off: Stack;
beforeAll(async () => {
  [open, keyed, off] = await Promise.all([startStack(), startStack({ env: KEYED_ENV }), startStack({ env: { GRAPHIQL_ENABLED: 'false' } })]);
});
afterAll(async () => {
  await Promise.all([open?.close(), keyed?.close(), off?.close()]);
});

describe('the GraphiQL page', () => {
  it('is a small HTML page under a Content-Security-Policy, with the shipped examples and the five files', async () => {
    const answer = await page(open.gateway.url);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-cache');
    expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
    expect(answer.headers['content-security-policy']).toContain("script-src 'self'");
    expect(answer.body.length).toBeLessThan(5000);
    const html = answer.body.toString('utf8');
    expect([...assetUrls(html).keys()].sort()).toEqual(Object.keys(EXPECTED_FILES).sort());
    // The examples travel as JSON in a data block; `<` is escaped so nothing in them can end it.
    const settings = /<script id="graphiql-config" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!;
    expect(settings).not.toContain('<');
    expect(JSON.parse(settings)).toEqual({ defaultQuery: GRAPHIQL_DEFAULT_QUERY });
  });

  it('weighs, with everything it loads and uncompressed, under 3 MB (about 0.6 MB gzipped)', async () => {
    const html = (await page(open.gateway.url)).body;
    let identity = html.length;
    let gzipped = html.length;
    for (const url of assetUrls(html.toString('utf8')).values()) {
      identity += (await send(open.gateway.url, url)).body.length;
      gzipped += (await send(open.gateway.url, url, { 'accept-encoding': 'gzip, deflate, br' })).body.length;
    }
    console.info(`GraphiQL page and files: ${identity} bytes, ${gzipped} bytes gzipped`);
    expect(identity).toBeLessThan(3_000_000);
    expect(gzipped).toBeLessThan(identity / 2);
  });

  it('is served without a key on a keyed gateway; with GraphiQL off it is not served', async () => {
    expect((await page(keyed.gateway.url)).status).toBe(200);
    const refused = await page(off.gateway.url);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.body.toString('utf8')).not.toMatch(/graphiql/i);
  });
});

describe('the GraphiQL files', () => {
  let urls: Map<string, string>;
  beforeAll(async () => {
    urls = assetUrls((await page(open.gateway.url)).body.toString('utf8'));
  });

  it.each(Object.keys(EXPECTED_FILES))('%s: the file byte for byte, cacheable for good, gzipped when asked', async (name) => {
    const expected = EXPECTED_FILES[name]!;
    const url = urls.get(name)!;
    const plain = await send(open.gateway.url, url);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe(expected.type);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(expected.bytes)).toBe(true);

    const gzipped = await send(open.gateway.url, url, { 'accept-encoding': 'gzip' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(gzipped.body).equals(expected.bytes)).toBe(true);
    expect(gzipped.headers.etag).not.toBe(plain.headers.etag);
    expect((await send(open.gateway.url, url, { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();

    const again = await send(open.gateway.url, url, { 'if-none-match': String(plain.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const head = await send(open.gateway.url, url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(expected.bytes.length);
  });

  it('the URL names the bytes: the same files get the same URLs on every gateway', async () => {
    const other = assetUrls((await page(keyed.gateway.url)).body.toString('utf8'));
    expect([...other]).toEqual([...urls]);
  });

  it('are served without a key on a keyed gateway', async () => {
    for (const url of urls.values()) expect((await send(keyed.gateway.url, url)).status).toBe(200);
  });

  it('only the listed files: any other path under the prefix is NOT_FOUND, whatever its spelling', async () => {
    const graphiql = urls.get('graphiql.min.js')!;
    const hash = graphiql.split('/')[2]!;
    const paths = [
      '/graphiql/',
      `/graphiql/${hash}/`,
      `/graphiql/${hash}/graphiql.js`,
      `/graphiql/${hash}/graphiql.min.js.map`,
      `/graphiql/${hash}/../../package.json`,
      `/graphiql/${hash}/%2e%2e/%2e%2e/package.json`,
      `/graphiql/${hash}/..%2f..%2fpackage.json`,
      '/graphiql/graphiql.min.js',
      `/graphiql/wronghash0000000/graphiql.min.js`,
      `/graphiql//${graphiql.slice('/graphiql/'.length)}`,
      `${graphiql}/`,
    ];
    for (const path of paths) {
      const answer = await send(open.gateway.url, path);
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(answer.body.toString('utf8')).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it('answers only GET and HEAD', async () => {
    const answer = await send(open.gateway.url, urls.get('graphiql.min.js')!, {}, 'POST');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(answer.body.toString('utf8')).errors[0].extensions.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('with GraphiQL off, none of them is served', async () => {
    for (const url of urls.values()) {
      const answer = await send(off.gateway.url, url);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body.toString('utf8')).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });
});
