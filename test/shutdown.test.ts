// SIGTERM on the real process: in-flight work finishes, then exit 0; past the deadline, exit 1.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { UPSTREAM_TEST_KEY } from './support/stack.js';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
});

async function startGateway(env: Record<string, string>) {
  simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 60_000 });
  return startGatewayProcess({ UPSTREAM_API_KEY: UPSTREAM_TEST_KEY, UPSTREAM_BASE_URL: simulator.url, TASK_CACHE_MAX_ENTRIES: '0', ...env });
}

const slowRead = (url: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ task(id: "demo-succeeded") { status } }' }) }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as { data?: { task: { status: string } } } }),
    (error: unknown) => ({ status: 0, body: { error: String(error) } }),
  );

describe('graceful shutdown', () => {
  it('SIGTERM during an in-flight request lets it finish, then exits 0', async () => {
    const { child, url } = await startGateway({ SHUTDOWN_GRACE_MS: '5000' });
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
    const { child, url } = await startGateway({ SHUTDOWN_GRACE_MS: '300', UPSTREAM_TIMEOUT_MS: '10000' });
    simulator!.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 5000 });
    const pending = slowRead(url);
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect((await pending).status).toBe(0);
  });
});
