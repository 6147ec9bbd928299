// The real entry point as a user runs it: a spawned process, configured only by environment.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { GRAPHIQL_DEFAULT_QUERY } from '../src/graphiql-examples.js';
import { spawnMain } from './support/gateway-process.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function startMain(env: Record<string, string>) {
  const child = spawnMain(env, 'pipe');
  children.push(child);
  return child;
}

async function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  let text = '';
  for await (const chunk of stream ?? []) text += String(chunk);
  return text;
}

describe('npm start (src/main.ts)', () => {
  it.each([
    ['PORT', 'abc'],
    ['UPSTREAM_TIMEOUT_MS', '0'],
    ['UPSTREAM_BASE_URL', 'not a url'],
    ['NODE_ENV', 'production'], // production with no client keys refuses to run open
    ['PUBLIC_URL', 'localhost:4000/videos?x=1'],
  ])('a bad %s stops the process with a one-line message naming it', async (name, value) => {
    const child = startMain({ [name]: value });
    const [stderr, [code]] = await Promise.all([collect(child.stderr), once(child, 'exit')]);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${name}[ =]`));
  });

  it('a PORT already in use stops the process with a one-line message naming it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const child = startMain({ HOST: '127.0.0.1', PORT: String(port) });
      const [stderr, [code]] = await Promise.all([collect(child.stderr), once(child, 'exit')]);
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`PORT ${port} .*already in use`));
    } finally {
      taken.close();
    }
  });

  it.each([
    ['an address not on this machine (TEST-NET-1: binding sends nothing)', '192.0.2.1', /HOST 192\.0\.2\.1 is not an address of this machine/],
    ['a name that does not resolve', 'no-such-host.invalid', /HOST no-such-host\.invalid does not resolve/],
  ])('HOST set to %s stops the process with a one-line message naming it', async (_name, host, message) => {
    const child = startMain({ HOST: host, PORT: '0' });
    const [stderr, [code]] = await Promise.all([collect(child.stderr), once(child, 'exit')]);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('without a key: runs the embedded simulator, says so, serves GraphiQL whose examples work as-is, exits 0 on SIGTERM', async () => {
    const child = startMain({ HOST: '127.0.0.1', PORT: '0', SIMULATOR_TASK_DURATION_MS: '500' });
    const logLines: { msg: string; url?: string }[] = [];
    const lines = createInterface({ input: child.stdout! });
    let url: string | undefined;
    for await (const line of lines) {
      const entry = JSON.parse(line) as { msg: string; url?: string };
      logLines.push(entry);
      if (entry.url) {
        url = entry.url;
        break;
      }
    }
    expect(logLines.some((l) => /embedded simulator/.test(l.msg))).toBe(true);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);

    const page = await fetch(url!, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('createReferenceVideo');
    // Served by the gateway itself: nothing to fetch from a CDN.
    expect(html).not.toMatch(/unpkg\.com|jsdelivr/);

    const run = async (operationName: string) => {
      const response = await fetch(url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: GRAPHIQL_DEFAULT_QUERY, operationName }),
      });
      return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] }; // any: shape differs per operation
    };
    const created = await run('CreateVideo');
    expect(created.errors).toBeUndefined();
    expect(created.data?.createReferenceVideo.userErrors).toEqual([]);
    expect(created.data?.createReferenceVideo.task.status).toMatch(/QUEUED|PROCESSING/);
    const read = await run('ReadTask');
    expect(read.errors).toBeUndefined();
    expect(read.data?.task).toMatchObject({ id: 'demo-succeeded', status: 'SUCCEEDED', isTerminal: true });
    // Served by the gateway itself, on its own port: the simulator's loopback port stays private.
    const videoUrl = read.data?.task.videos[0].url as string;
    expect(videoUrl).toBe(url!.replace(/\/graphql$/, '/simulator/videos/demo-succeeded.mp4'));
    expect(read.data?.task.watchUrl).toMatch(/\/watch\//);
    const history = await run('MyTasks');
    expect(history.errors).toBeUndefined();
    expect(history.data?.myTasks.totalCount).toBe(1);
    expect(history.data?.myTasks.edges[0].node.id).toBe(created.data?.createReferenceVideo.taskId);
    const video = await fetch(videoUrl, { method: 'HEAD' });
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const watch = await fetch(url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: GRAPHIQL_DEFAULT_QUERY, operationName: 'WatchTask' }),
    });
    const events = await watch.text();
    expect(events).toContain('"status":"SUCCEEDED"');
    expect(events).toContain('event: complete');

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
