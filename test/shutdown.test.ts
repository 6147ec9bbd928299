// SIGTERM on the real process: in-flight work finishes, then exit 0; past the deadline, exit 1.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { UPSTREAM_TEST_KEY } from './support/stack.js';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
});

async function startGatewayProcess(env: Record<string, string>) {
  simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 60_000 });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', UPSTREAM_API_KEY: UPSTREAM_TEST_KEY, UPSTREAM_BASE_URL: simulator.url, TASK_CACHE_MAX_ENTRIES: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = (JSON.parse(line) as { url?: string }).url;
    if (url) {
      child.stdout!.resume();
      return { child, url };
    }
  }
  throw new Error('the gateway printed no URL');
}

const slowRead = (url: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ task(id: "demo-succeeded") { status } }' }) }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as { data?: { task: { status: string } } } }),
    (error: unknown) => ({ status: 0, body: { error: String(error) } }),
  );

describe('graceful shutdown', () => {
  it('SIGTERM during an in-flight request lets it finish, then exits 0', async () => {
    const { child, url } = await startGatewayProcess({ SHUTDOWN_GRACE_MS: '5000' });
    simulator!.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 1200 });
    const pending = slowRead(url);
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const result = await pending;
    expect(result).toEqual({ status: 200, body: { data: { task: { status: 'SUCCEEDED' } } } });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('exits 1 when the deadline had to cut a request off', async () => {
    const { child, url } = await startGatewayProcess({ SHUTDOWN_GRACE_MS: '300', UPSTREAM_TIMEOUT_MS: '10000' });
    simulator!.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 5000 });
    const pending = slowRead(url);
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect((await pending).status).toBe(0);
  });
});
