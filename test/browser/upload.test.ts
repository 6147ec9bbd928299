// Uploads from a browser, in a real Chromium (Debian's, driven by playwright-core) against a real
// gateway and simulator on loopback. A page on another site draws on a canvas, has Chromium's own
// encoders make a PNG, a JPEG and a WebP of it (real files, not this repo's builders), and POSTs
// them as a GraphQL multipart request with FormData and fetch. With `x-graphql-yoga-csrf: 1` from
// an origin in CORS_ORIGINS it gets a task, and the upstream receives the very bytes uploaded;
// without that header the mutation is refused; from an unlisted origin the browser sends nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeInBrowser } from '../support/browser.js';
import { startStack, type Stack } from '../support/stack.js';

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;
const TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/** What the page saw: the answer, or the error fetch threw; and the files it sent, in base64. */
interface PageUpload {
  status?: number;
  // `any`: the test checks the answer's shape with expect().
  body?: any;
  error?: string;
  uploaded: { type: string; base64: string }[];
}

/**
 * Runs in the page: draws a 320×240 canvas, encodes it in each of `types`, and sends the files as
 * the images of one subject. Everything it needs is passed in: it runs in the browser, not here.
 */
function uploadFromPage(page: Page, gatewayUrl: string, prompt: string, headers: Record<string, string>): Promise<PageUpload> {
  return page.evaluate(
    async ({ gatewayUrl, prompt, headers, query, types }) => {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const context = canvas.getContext('2d');
      if (context === null) throw new Error('no 2d canvas');
      const gradient = context.createLinearGradient(0, 0, 320, 240);
      gradient.addColorStop(0, '#1d4ed8');
      gradient.addColorStop(1, '#f59e0b');
      context.fillStyle = gradient;
      context.fillRect(0, 0, 320, 240);
      context.fillStyle = '#ffffff';
      context.fillRect(120, 60, 80, 120);

      const encode = (type: string) =>
        new Promise<Blob>((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error(`canvas cannot encode ${type}`))), type));
      // The File's type is the blob's: what Chromium says it encoded.
      const files = await Promise.all(
        types.map(async (type, i) => {
          const blob = await encode(type);
          return new File([blob], `reference-${i}`, { type: blob.type });
        }),
      );

      const form = new FormData();
      form.append('operations', JSON.stringify({ query, variables: { input: { prompt, subjects: [{ id: '1', imageFiles: files.map(() => null) }] } } }));
      form.append('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [`variables.input.subjects.0.imageFiles.${i}`]]))));
      files.forEach((file, i) => form.append(String(i), file));

      const base64 = async (file: File) => {
        let binary = '';
        for (const byte of new Uint8Array(await file.arrayBuffer())) binary += String.fromCharCode(byte);
        return btoa(binary);
      };
      const uploaded = await Promise.all(files.map(async (file) => ({ type: file.type, base64: await base64(file) })));
      try {
        const response = await fetch(`${gatewayUrl}/graphql`, { method: 'POST', headers, body: form });
        return { status: response.status, body: await response.json(), uploaded };
      } catch (error) {
        return { error: String(error), uploaded };
      }
    },
    { gatewayUrl, prompt, headers, query: CREATE, types: TYPES },
  );
}

describeInBrowser('uploading images from a page on another site', (browser) => {
  // The page's server. `http://localhost:<port>` is another site than the gateway's
  // `http://127.0.0.1:<port>`; `http://127.0.0.1:<port>` is another origin, and not listed.
  let site: Server;
  let sitePort: number;
  let stack: Stack;

  beforeAll(async () => {
    site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>another site</title>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    sitePort = (site.address() as AddressInfo).port;
    stack = await startStack({ env: { CORS_ORIGINS: `http://localhost:${sitePort}` } });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise((resolve) => site?.close(resolve));
  });
  afterEach(() => {
    stack.simulator.resetStats();
  });

  async function onPage<T>(origin: string, use: (page: Page) => Promise<T>): Promise<T> {
    const context = await browser().newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      return await use(page);
    } finally {
      await context.close();
    }
  }

  it('sends canvas-made PNG, JPEG and WebP files with x-graphql-yoga-csrf, gets a task, and the upstream gets their bytes', async () => {
    const prompt = '@1 waves from a canvas';
    const sent = await onPage(`http://localhost:${sitePort}`, (page) => uploadFromPage(page, stack.gateway.url, prompt, { 'x-graphql-yoga-csrf': '1' }));

    expect(sent.uploaded.map((file) => file.type)).toEqual(TYPES);
    expect(sent.error).toBeUndefined();
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ data: { createReferenceVideo: { taskId: expect.any(String), userErrors: [] } } });

    const upstream = (stack.simulator.acceptedCreateBodies() as { prompt: string; subjects: unknown }[]).filter((body) => body.prompt === prompt);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.subjects).toEqual([{ id: '1', images: sent.uploaded.map(({ type, base64 }) => `data:${type};base64,${base64}`) }]);
  });

  it('without a preflight header, the browser sends the upload (a simple request) and the gateway refuses the mutation', async () => {
    const sent = await onPage(`http://localhost:${sitePort}`, (page) => uploadFromPage(page, stack.gateway.url, '@1 waves', {}));
    expect(sent.status).toBe(403);
    expect(sent.body.errors).toEqual([{ message: expect.any(String), extensions: { code: 'PREFLIGHT_REQUIRED' } }]);
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('from an origin not in CORS_ORIGINS, the preflight fails and nothing is sent', async () => {
    const sent = await onPage(`http://127.0.0.1:${sitePort}`, (page) => uploadFromPage(page, stack.gateway.url, '@1 waves', { 'x-graphql-yoga-csrf': '1' }));
    expect(sent.error).toMatch(/Failed to fetch/);
    expect(stack.simulator.stats().createRequests).toBe(0);
  });
});
