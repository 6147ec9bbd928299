// A real Redis for the shared-state suites, and a TCP proxy in front of it so a test can cut the
// connection and bring it back. Where no Redis answers, the suites skip with a visible message,
// except under CI=true, where that is a failure.
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pingRedis } from '../../src/redis-connection.js';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Decides whether a Redis suite runs; says so loudly when it does not. */
export async function redisAvailableOrExplain(suite: string): Promise<boolean> {
  if (await pingRedis(TEST_REDIS_URL)) return true;
  if (process.env.CI === 'true') throw new Error(`${suite}: no Redis at ${TEST_REDIS_URL}, and CI=true requires one`);
  console.warn(`\n!! ${suite}: SKIPPED, no Redis reachable at ${TEST_REDIS_URL} (set REDIS_URL to run it)\n`);
  return false;
}

/** A fresh key prefix, so parallel suites and earlier runs never meet. */
export function testKeyPrefix(): string {
  return `vgw-test-${randomUUID().slice(0, 8)}:`;
}

export class RedisProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  readonly #target: URL;

  constructor(targetUrl = TEST_REDIS_URL) {
    this.#target = new URL(targetUrl);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}${this.#target.pathname}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.#target.port || 6379), this.#target.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Redis "goes away": open connections are cut and new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
