// Starts a real simulator and a real gateway on loopback (port 0) and talks to them over HTTP.
// Every GraphQL response passes a leak check: the upstream key must never appear in it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';

/** Distinctive, so a leak anywhere is found by a plain substring search. */
export const UPSTREAM_TEST_KEY = 'sk-test-UPSTREAM-SECRET-9f8e7d6c5b4a';

export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });

  text(): string {
    return this.lines.join('\n');
  }
}

export interface GraphQLResult {
  status: number;
  // `any` on purpose: response shapes differ per query and the tests check them with expect().
  body: { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
  text: string;
}

export interface Stack {
  simulator: Simulator;
  gateway: RunningGateway;
  logs: LogCapture;
  graphql(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult>;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  simulator?: Partial<SimulatorOptions>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 600, ...options.simulator });
  // Each stack keeps its task history in a fresh folder of its own, removed on close: tests never
  // write ./data nor share a history. A suite that passes DATA_DIR (to restart on it) owns that folder.
  const ownDataDir = options.env?.DATA_DIR === undefined ? await mkdtemp(join(tmpdir(), 'gateway-test-')) : undefined;
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'trace',
    UPSTREAM_API_KEY: UPSTREAM_TEST_KEY,
    UPSTREAM_BASE_URL: simulator.url,
    UPSTREAM_RETRY_BASE_DELAY_MS: '10',
    UPSTREAM_RETRY_MAX_DELAY_MS: '50',
    // Most suites count upstream calls per request: the result cache is off unless a suite turns it on.
    TASK_CACHE_MAX_ENTRIES: '0',
    // ...and server-side following, which reads every created task on its own, is off unless a
    // suite turns it on (task-following.test.ts does).
    FOLLOW_MAX_TASKS: '0',
    // ...and so is copying videos, which downloads each succeeded task's video in the background
    // (video-copies.test.ts turns it on).
    VIDEO_COPY_CONCURRENCY: '0',
    SHUTDOWN_GRACE_MS: '500',
    // Suites create many tasks quickly; the create limits have their own suite.
    CREATE_RATE_LIMIT_BURST: '10000',
    CREATE_RATE_LIMIT_PER_MINUTE: '10000',
    CREATE_MAX_CONCURRENT: '1000',
    CREATE_MAX_CONCURRENT_PER_TENANT: '1000',
    ...(ownDataDir === undefined ? {} : { DATA_DIR: ownDataDir }),
    ...options.env,
  });
  const logs = new LogCapture();
  const gateway = await startGateway(config, createLogger(config, logs.stream));

  async function graphql(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult> {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    expect(text).not.toContain(UPSTREAM_TEST_KEY);
    return { status: response.status, body: JSON.parse(text) as GraphQLResult['body'], text };
  }

  return {
    simulator,
    gateway,
    logs,
    graphql,
    async close() {
      await gateway.close();
      await simulator.close();
      if (ownDataDir !== undefined) await rm(ownDataDir, { recursive: true, force: true });
    },
  };
}

/** Test stacks leave copying videos off (VIDEO_COPY_CONCURRENCY=0): these turn it on, with quick rescans and retries. */
export const VIDEO_COPYING_ENV: Record<string, string> = {
  VIDEO_COPY_CONCURRENCY: '2',
  VIDEO_COPY_RESCAN_INTERVAL_MS: '200',
  VIDEO_COPY_RETRY_MAX_DELAY_MS: '300',
  VIDEO_COPY_TIMEOUT_MS: '5000',
  TASK_CACHE_MAX_ENTRIES: '0',
};

export const TASK_FIELDS = 'id status isTerminal progressPercent etaSeconds failureReason seed submittedAt completedAt videos { url format expiresAt }';

/**
 * One stack for the enclosing describe (or file): started before its tests, closed after them, and
 * (unless `resetBetweenTests` is false) the simulator's faults and counters cleared before each test.
 * The returned object forwards to the running stack, so tests use it like the stack itself.
 */
export function useStack(options: StackOptions = {}, { resetBetweenTests = true } = {}): Stack {
  let started: Stack | undefined;
  const current = (): Stack => {
    if (!started) throw new Error('the stack is not running: use it inside a test or hook');
    return started;
  };
  beforeAll(async () => {
    started = await startStack(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  if (resetBetweenTests) {
    beforeEach(() => {
      current().simulator.clearFaults();
      current().simulator.resetStats();
    });
  }
  return {
    get simulator() {
      return current().simulator;
    },
    get gateway() {
      return current().gateway;
    },
    get logs() {
      return current().logs;
    },
    graphql: (query, variables) => current().graphql(query, variables),
    close: () => current().close(),
  };
}

/**
 * For suites whose tests each need their own settings: `stack(env)` starts a stack that is closed
 * after the test that started it. `defaults` (env merged under each call's) apply to every stack.
 */
export function stackPerTest(defaults: StackOptions = {}): (env?: Record<string, string>, simulator?: StackOptions['simulator']) => Promise<Stack> {
  const started: Stack[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((stack) => stack.close()));
  });
  return async (env = {}, simulator = {}) => {
    const stack = await startStack({ env: { ...defaults.env, ...env }, simulator: { ...defaults.simulator, ...simulator } });
    started.push(stack);
    return stack;
  };
}

/**
 * The settings of a gateway a suite starts itself against `simulatorUrl` (a restart, replicas):
 * loopback, port 0, quiet, a short shutdown grace. `env` adds to them or overrides them.
 */
export function gatewayConfigFor(simulatorUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    UPSTREAM_API_KEY: UPSTREAM_TEST_KEY,
    UPSTREAM_BASE_URL: simulatorUrl,
    SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
}
