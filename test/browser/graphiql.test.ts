// GraphiQL and the gateway's browser-facing rules, in a real Chromium (Debian's, driven by
// playwright-core) against a real gateway and simulator on loopback: GraphiQL loads under 3 MB and
// runs every shipped example (the subscription included) from its run button; a client key typed in
// its Headers tab reaches the gateway; a browser EventSource streams a subscription with no header;
// a form posted from another site cannot create a video; an allowed origin can read x-request-id.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeInBrowser } from '../support/browser.js';
import { startStack, useStack, type Stack } from '../support/stack.js';

const MAX_PAGE_BYTES = 3_000_000;
// Long enough that a stream opened right after the create sees the task before it ends.
const TASK_DURATION_MS = 2500;
const KEY = 'k-browser-0123456789abcdef';
const KEYED_ENV = { GATEWAY_API_KEYS: `web:${KEY}`, GATEWAY_ID_SECRET: 'browser-test-id-secret-0123456789abcdef' };

const CREATE = `mutation { createReferenceVideo(input: { prompt: "@1 waves", subjects: [{ id: "1", images: ["https://example.com/a.png"] }] }) { taskId } }`;

// `any`: result shapes differ per operation; the tests check them with expect().
type GraphQLBody = { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };

interface OpenedGraphiQL {
  page: Page;
  /** Every response of the page load, GraphiQL's schema introspection included. */
  responses: Response[];
  /** Uncaught errors, console errors and failed requests: a page that works has none. */
  problems: string[];
}

function watchProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`));
}

async function openGraphiQL(context: BrowserContext, gatewayUrl: string): Promise<OpenedGraphiQL> {
  const page = await context.newPage();
  const responses: Response[] = [];
  const problems: string[] = [];
  page.on('response', (response) => responses.push(response));
  watchProblems(page, problems);
  // GraphiQL fetches the schema as soon as it starts: the load is over once that has answered.
  const introspection = page.waitForResponse((response) => response.request().method() === 'POST' && response.url() === `${gatewayUrl}/graphql`);
  await page.goto(`${gatewayUrl}/graphql`);
  await introspection;
  await page.getByRole('button', { name: /^Execute query/ }).waitFor();
  return { page, responses, problems };
}

/** The result pane's text (read from its CodeMirror, which renders only the lines in view). */
function resultText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const pane = document.querySelector('.graphiql-response .CodeMirror') as (Element & { CodeMirror?: { getValue(): string } }) | null;
    return pane?.CodeMirror?.getValue() ?? '';
  });
}

/** The result pane's JSON, once it is there; undefined while it holds something else. */
async function result(page: Page): Promise<GraphQLBody | undefined> {
  const text = await resultText(page);
  try {
    return JSON.parse(text) as GraphQLBody;
  } catch {
    return undefined;
  }
}

/** Polls the result pane until it matches (each answer takes a round trip through the page). */
const eventually = (page: Page, timeout = 10_000) => expect.poll(() => result(page), { timeout });

/**
 * Clicks run. When the document holds several operations, the button opens a list and `name` is
 * chosen from it; with one operation it runs at once. GraphiQL reads an edited document a moment
 * after the edit, so this first waits until the button is the kind it should be.
 */
async function run(page: Page, name?: string): Promise<void> {
  const button = page.getByRole('button', { name: /^Execute query/ });
  await expect.poll(() => button.getAttribute('aria-haspopup'), { timeout: 10_000 }).toBe(name === undefined ? null : 'menu');
  await button.click();
  if (name !== undefined) await page.getByRole('menuitem', { name, exact: true }).click();
}

/** Waits until nothing runs any more: a subscription has ended when the Stop button is Run again. */
async function waitUntilIdle(page: Page): Promise<void> {
  await page.getByRole('button', { name: /^Execute query/ }).waitFor({ timeout: 15_000 });
}

/** Replaces an editor's text as a paste would (typing would meet CodeMirror's bracket closing). */
async function replaceEditorText(page: Page, editor: string, text: string): Promise<void> {
  await page.locator(`${editor} .CodeMirror`).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
}

async function withContext<T>(browser: Browser, use: (context: BrowserContext) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    return await use(context);
  } finally {
    await context.close();
  }
}

describeInBrowser('GraphiQL and browsers against the gateway', (browser) => {
  describe('GraphiQL on an open gateway', () => {
    const stack = useStack({ simulator: { taskDurationMs: TASK_DURATION_MS } });

    it(`loads in under ${MAX_PAGE_BYTES} bytes, everything included, with no error and under its Content-Security-Policy`, async () => {
      await withContext(browser(), async (context) => {
        const { page, responses, problems } = await openGraphiQL(context, stack.gateway.url);
        let transferred = 0;
        for (const response of responses) {
          const sizes = await response.request().sizes();
          transferred += sizes.responseHeadersSize + sizes.responseBodySize;
        }
        console.info(`GraphiQL page load: ${responses.length} responses, ${transferred} bytes transferred`);
        // The page, its stylesheet, React, ReactDOM, GraphiQL, our start-up script and the schema.
        expect(responses.map((response) => response.status())).toEqual(Array(7).fill(200));
        expect(transferred).toBeGreaterThan(100_000);
        expect(transferred).toBeLessThan(MAX_PAGE_BYTES);
        expect((await responses[0]!.allHeaders())['content-security-policy']).toContain("script-src 'self'");
        expect(problems).toEqual([]);
      });
    });

    it('runs every shipped example from the run button: CreateVideo, ReadTask, and WatchTask streaming to SUCCEEDED', async () => {
      await withContext(browser(), async (context) => {
        const { page, problems } = await openGraphiQL(context, stack.gateway.url);

        await run(page, 'CreateVideo');
        await eventually(page).toMatchObject({ data: { createReferenceVideo: { taskId: expect.any(String), userErrors: [] } } });
        const created = (await result(page))!.data.createReferenceVideo;
        expect(created.task).toMatchObject({ id: created.taskId, status: expect.stringMatching(/^(QUEUED|PROCESSING)$/) });
        expect(stack.simulator.stats().createRequests).toBe(1);

        await run(page, 'ReadTask');
        await eventually(page).toMatchObject({
          data: { task: { id: 'demo-succeeded', status: 'SUCCEEDED', isTerminal: true, videos: [{ url: expect.any(String), format: 'MP4' }] } },
        });

        await run(page, 'WatchTask');
        await eventually(page).toMatchObject({ data: { taskUpdates: { id: 'demo-succeeded', status: 'SUCCEEDED', progressPercent: 100 } } });
        await waitUntilIdle(page);

        // The task CreateVideo made, watched from GraphiQL as the welcome comment suggests: the
        // stream goes on until the task ends, and then ends by itself.
        await replaceEditorText(page, '.graphiql-query-editor', `subscription { taskUpdates(id: "${created.taskId}") { id status } }`);
        await run(page);
        await eventually(page, 15_000).toMatchObject({ data: { taskUpdates: { id: created.taskId, status: 'SUCCEEDED' } } });
        await waitUntilIdle(page);
        expect(problems).toEqual([]);
      });
    });

    it('a browser EventSource streams a GET subscription (no header can be added) until the task ends', async () => {
      await withContext(browser(), async (context) => {
        // Any page of the gateway's origin will do; the task is created once the page is there, so
        // the stream sees it before it ends.
        const page = await context.newPage();
        await page.goto(`${stack.gateway.url}/health`);
        const created = await stack.graphql(CREATE);
        const taskId = created.body.data.createReferenceVideo.taskId as string;
        const statuses = await page.evaluate(
          (query) =>
            new Promise<string[]>((resolve, reject) => {
              const seen: string[] = [];
              const source = new EventSource(`/graphql?query=${encodeURIComponent(query)}`);
              source.addEventListener('next', (event) => seen.push(JSON.parse((event as MessageEvent<string>).data).data.taskUpdates.status));
              source.addEventListener('complete', () => {
                source.close();
                resolve(seen);
              });
              source.onerror = () => {
                source.close();
                reject(new Error(`EventSource failed after ${JSON.stringify(seen)}`));
              };
            }),
          `subscription { taskUpdates(id: "${taskId}") { status } }`,
        );
        expect(statuses.length).toBeGreaterThanOrEqual(2);
        expect(statuses[0]).toMatch(/^(QUEUED|PROCESSING)$/);
        expect(statuses.at(-1)).toBe('SUCCEEDED');
      });
    });
  });

  describe('GraphiQL on a gateway with client keys', () => {
    const stack = useStack({ env: KEYED_ENV, simulator: { taskDurationMs: TASK_DURATION_MS } });

    it('the page and its files load without a key; operations need the key from the Headers tab, subscriptions included', async () => {
      await withContext(browser(), async (context) => {
        const { page, responses } = await openGraphiQL(context, stack.gateway.url);
        const statuses = (method: string) => responses.filter((response) => response.request().method() === method).map((response) => response.status());
        // The page and its five files; the schema fetch needs a key like any operation.
        expect(statuses('GET')).toEqual(Array(6).fill(200));
        expect(new Set(statuses('POST'))).toEqual(new Set([401]));

        await run(page, 'CreateVideo');
        await eventually(page).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
        expect(stack.simulator.stats().createRequests).toBe(0);

        await page.getByRole('button', { name: 'Headers', exact: true }).click();
        await replaceEditorText(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${KEY}` }));
        await run(page, 'CreateVideo');
        await eventually(page).toMatchObject({ data: { createReferenceVideo: { taskId: expect.any(String), userErrors: [] } } });
        const taskId = (await result(page))!.data.createReferenceVideo.taskId as string;
        expect(stack.simulator.stats().createRequests).toBe(1);

        await replaceEditorText(page, '.graphiql-query-editor', `subscription { taskUpdates(id: "${taskId}") { id status } }`);
        await run(page);
        await eventually(page, 15_000).toMatchObject({ data: { taskUpdates: { id: taskId, status: 'SUCCEEDED' } } });
        await waitUntilIdle(page);
      });
    });
  });

  describe('pages on other sites', () => {
    // A second web server, as another site would be: `http://localhost:<port>` is a different site
    // from the gateway's `http://127.0.0.1:<port>`, and `http://127.0.0.1:<port>` a different origin.
    let otherSite: Server;
    let otherPort: number;
    const pages = new Map<string, string>();
    let open: Stack;
    let keyed: Stack;

    beforeAll(async () => {
      otherSite = createServer((req, res) => {
        const html = pages.get(req.url ?? '') ?? '<!doctype html><title>another site</title>';
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      });
      await new Promise<void>((resolve) => otherSite.listen(0, '127.0.0.1', resolve));
      otherPort = (otherSite.address() as AddressInfo).port;
      const env = { CORS_ORIGINS: `http://localhost:${otherPort}` };
      [open, keyed] = await Promise.all([startStack({ env }), startStack({ env: { ...env, ...KEYED_ENV } })]);
    });
    afterAll(async () => {
      await Promise.all([open?.close(), keyed?.close()]);
      await new Promise((resolve) => otherSite?.close(resolve));
    });
    afterEach(() => {
      open.simulator.resetStats();
      keyed.simulator.resetStats();
    });

    const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

    /** A page that posts a form to the gateway as soon as it loads, the way a CSRF attack would. */
    function formPage(gatewayUrl: string, enctype: string): string {
      // text/plain sends `name=value`: split a JSON body around its `=` so the gateway receives valid JSON.
      const json = JSON.stringify({ query: CREATE, padding: '' });
      const [name, value] = enctype === 'text/plain' ? [json.slice(0, -2), '"}'] : ['query', CREATE];
      return `<!doctype html><form method="POST" action="${gatewayUrl}/graphql" enctype="${enctype}">
<input type="hidden" name="${escapeAttribute(name)}" value="${escapeAttribute(value)}"></form>
<script>document.forms[0].submit()</script>`;
    }

    it.each([
      ['an open gateway', 'application/x-www-form-urlencoded'],
      ['an open gateway', 'text/plain'],
      ['a gateway with client keys', 'application/x-www-form-urlencoded'],
      ['a gateway with client keys', 'text/plain'],
    ])('a form posted cross-site to %s as %s creates no video', async (which, enctype) => {
      const target = which === 'an open gateway' ? open : keyed;
      const path = `/form-${pages.size}`;
      pages.set(path, formPage(target.gateway.url, enctype));
      await withContext(browser(), async (context) => {
        const page = await context.newPage();
        const answered = page.waitForResponse((response) => response.url() === `${target.gateway.url}/graphql` && response.request().method() === 'POST');
        await page.goto(`http://localhost:${otherPort}${path}`);
        const answer = await answered;
        // The browser did send the form, as that encoding, from the other site.
        expect(answer.request().headers()['content-type']).toContain(enctype);
        expect(answer.status()).toBeGreaterThanOrEqual(400);
        expect(target.simulator.stats().createRequests).toBe(0);
      });
    });

    it('a cross-origin fetch from an allowed origin reads x-request-id; an unlisted origin reads nothing', async () => {
      const readRequestId = (page: Page) =>
        page.evaluate(async (gatewayUrl) => {
          const response = await fetch(`${gatewayUrl}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ __typename }' }),
          });
          return { requestId: response.headers.get('x-request-id'), body: await response.json() };
        }, open.gateway.url);
      await withContext(browser(), async (context) => {
        const allowed = await context.newPage();
        await allowed.goto(`http://localhost:${otherPort}/`);
        const read = await readRequestId(allowed);
        expect(read.body).toEqual({ data: { __typename: 'Query' } });
        expect(read.requestId).toMatch(/^\S{8,}$/);

        const unlisted = await context.newPage();
        await unlisted.goto(`http://127.0.0.1:${otherPort}/`);
        await expect(readRequestId(unlisted)).rejects.toThrow(/Failed to fetch/);
      });
    });
  });
});
