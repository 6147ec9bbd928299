// A watch link in a real Chromium (Debian's, driven by playwright-core), the way the issue means it:
// a page on another origin, which holds no credential, is handed a task's watchUrl by its own site's
// server (which holds the client key) and opens it with `new EventSource(watchUrl)`. The gateway's
// CORS answer lets it read the stream; it sees the task reach SUCCEEDED, then `complete`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInBrowser } from '../support/browser.js';
import { useStack } from '../support/stack.js';

// Long enough that the page, which asks for the link once it has loaded, sees the task before it ends.
const TASK_DURATION_MS = 4000;
const KEY = 'k-watch-page-0123456789abcdef';
const KEYED_ENV = {
  GATEWAY_API_KEYS: `web:${KEY}`,
  GATEWAY_ID_SECRET: 'watch-link-browser-id-secret-0123456789abcdef',
  LIVE_POLL_MIN_INTERVAL_MS: '200',
  LIVE_POLL_MAX_INTERVAL_MS: '400',
  TASK_CACHE_PENDING_TTL_MS: '100',
};
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const READ_WATCH_URL = 'query($id: ID!) { task(id: $id) { watchUrl } }';
const input = { prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };

/** What the page records of its stream (on `window.watch`). */
interface PageWatch {
  statuses: string[];
  ids: string[];
  completed: boolean;
  errors: number;
}

// The page knows no key: it asks its own site for a link, then watches it with no header at all.
const WATCH_PAGE = `<!doctype html><title>watching a video task</title><script>
window.watch = { statuses: [], ids: [], completed: false, errors: 0 };
fetch('/watch-url').then((response) => response.json()).then(({ watchUrl }) => {
  const source = new EventSource(watchUrl);
  source.addEventListener('next', (event) => {
    const task = JSON.parse(event.data).data.taskUpdates;
    window.watch.statuses.push(task.status);
    window.watch.ids.push(task.id);
  });
  source.addEventListener('complete', () => {
    source.close();
    window.watch.completed = true;
  });
  source.onerror = () => {
    source.close();
    window.watch.errors += 1;
  };
});
</script>`;

describeInBrowser('a watch link opened by a page on another origin', (browser) => {
  const stack = useStack({ env: KEYED_ENV, simulator: { taskDurationMs: TASK_DURATION_MS } });
  // The page's own site, as an app's web server would be: it holds the key and hands out links.
  let site: Server;
  let siteOrigin: string;
  /** The task the site created for the page (the id its key sees), once the page has asked. */
  const created: string[] = [];

  async function gatewayCall(query: string, variables: Record<string, unknown>): Promise<any> {
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query, variables }),
    });
    // any: response shapes differ per operation; the test checks them with expect().
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  }

  async function serveSite(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/watch-url') {
      const id = (await gatewayCall(CREATE, { input })).createReferenceVideo.taskId as string;
      created.push(id);
      const watchUrl = (await gatewayCall(READ_WATCH_URL, { id })).task.watchUrl as string;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ watchUrl }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(WATCH_PAGE);
  }

  beforeAll(async () => {
    site = createServer((req, res) => {
      serveSite(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    // `localhost` against the gateway's `127.0.0.1`: another origin, and another site.
    siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => site?.close(resolve));
  });

  it('streams the task to SUCCEEDED and complete through new EventSource(watchUrl), with no credential', async () => {
    const context = await browser().newContext();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      const watchRequests: Request[] = [];
      page.on('request', (request) => {
        if (request.url().startsWith(`${stack.gateway.url}/watch/`)) watchRequests.push(request);
      });

      await page.goto(`${siteOrigin}/`);
      await page.waitForFunction(
        () => {
          const watch = (window as unknown as { watch: PageWatch }).watch;
          return watch.completed || watch.errors > 0;
        },
        null,
        { timeout: 30_000 },
      );
      const watch = await page.evaluate(() => (window as unknown as { watch: PageWatch }).watch);

      expect(new URL(page.url()).origin).not.toBe(new URL(stack.gateway.url).origin);
      expect(problems).toEqual([]);
      expect(watch.errors).toBe(0);
      expect(watch.completed).toBe(true);
      expect(watch.statuses.length).toBeGreaterThanOrEqual(2);
      expect(watch.statuses[0]).toMatch(/^(QUEUED|PROCESSING)$/);
      expect(watch.statuses.at(-1)).toBe('SUCCEEDED');
      // The task the site created, under the id the site's key sees.
      expect(created).toHaveLength(1);
      expect(new Set(watch.ids)).toEqual(new Set(created));

      // One request, cross-origin, carrying no credential; the gateway let this origin read it.
      expect(watchRequests).toHaveLength(1);
      const headers = await watchRequests[0]!.allHeaders();
      expect(headers.origin).toBe(siteOrigin);
      expect(headers.authorization).toBeUndefined();
      const response = await watchRequests[0]!.response();
      expect(response?.status()).toBe(200);
      expect((await response?.allHeaders())?.['access-control-allow-origin']).toBe('*');
      expect(stack.simulator.stats().createRequests).toBe(1);
    } finally {
      await context.close();
    }
  });
});
