// The processes every benchmark scenario talks to: a simulator child and gateway children pointed
// at it, configured as in production (every request authenticated, ids signed).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Agent } from 'undici';
import { startChild, type Child } from './processes.js';

export const SIM_KEY = 'bench-simulator-key';
export const URL_IN_LOG = /(http:\/\/127\.0\.0\.1:\d+(?:\/graphql)?)/;
export const CLIENT_KEY = 'bench-client-key-0123456789abcdef';
export const ID_SECRET = 'bench-id-secret-0123456789abcdef0123456789';
/** The tenant CLIENT_KEY belongs to: public task ids are signed for it. */
export const TENANT = 'bench';
const GATEWAY_AUTH = { GATEWAY_API_KEYS: `${TENANT}:${CLIENT_KEY}`, GATEWAY_ID_SECRET: ID_SECRET };
export const AUTHORIZATION = { authorization: `Bearer ${CLIENT_KEY}` };

/** One GraphQL POST to a bench gateway with the bench client key: the HTTP status and the body's text. */
export async function postGraphQL(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ statusCode: number; text: string }> {
  const { statusCode, body } = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...AUTHORIZATION },
    body: JSON.stringify({ query, variables }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  return { statusCode, text: await body.text() };
}

export async function simulatorStats(simulatorUrl: string): Promise<{ createRequests: number; resultRequests: number }> {
  const { body } = await request(`${simulatorUrl}/__sim/stats`);
  return (await body.json()) as { createRequests: number; resultRequests: number };
}

export async function resetSimulatorStats(simulatorUrl: string): Promise<void> {
  const { body } = await request(`${simulatorUrl}/__sim/stats/reset`, { method: 'POST' });
  await body.dump();
}

export function startSimulatorChild(taskDurationMs: number): Promise<Child> {
  return startChild('src/simulator/main.ts', { SIMULATOR_PORT: '0', SIMULATOR_API_KEY: SIM_KEY, SIMULATOR_TASK_DURATION_MS: String(taskDurationMs) }, URL_IN_LOG);
}

/**
 * A gateway with its default settings except `env`; its URL is the GraphQL endpoint. `nodeArgs`:
 * extra Node flags. Each gets its own task history (a temp DATA_DIR), never the checkout's ./data.
 */
export function startGatewayChild(simulatorUrl: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
  return startChild(
    'src/main.ts',
    { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', UPSTREAM_API_KEY: SIM_KEY, UPSTREAM_BASE_URL: simulatorUrl, DATA_DIR: dataDir, ...GATEWAY_AUTH, ...env },
    /"url":"(http:\/\/127\.0\.0\.1:\d+\/graphql)"/,
    nodeArgs,
  );
}

export async function startPair(taskDurationMs: number, gatewayEnv: Record<string, string> = {}): Promise<{ simulator: Child; gateway: Child }> {
  const simulator = await startSimulatorChild(taskDurationMs);
  const gateway = await startGatewayChild(simulator.url, gatewayEnv);
  return { simulator, gateway };
}

// Bounded: no answer is awaited longer than this, so the bench always ends.
export const REQUEST_TIMEOUT_MS = 120_000;

/** One POST's answer: its status ('failed' when none came), time, size and first bytes. */
export interface Sent {
  status: number | 'failed';
  ms: number;
  bytes: number;
  head: string;
}

/** POSTs `body`, reading the answer as it streams and keeping its size and first bytes. Never throws. */
export async function post(url: string, body: Buffer | string, headers: Record<string, string>, agent: Agent): Promise<Sent> {
  const started = performance.now();
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      dispatcher: agent,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    let bytes = 0;
    let head = '';
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (head.length < 400) head += chunk.subarray(0, 400 - head.length).toString('utf8');
    }
    return { status: response.statusCode, ms: performance.now() - started, bytes, head };
  } catch (error) {
    return { status: 'failed', ms: performance.now() - started, bytes: 0, head: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
