// The Redis connection for shared state. Commands fail fast while Redis is away (no offline
// queue, a command timeout, no replay of in-flight commands after a reconnect): callers decide
// what to do without Redis (fall back to local state, or fail closed), and never wait on a dead one.
import { Redis } from 'ioredis';
import type { RedisConfig } from './config.js';
import type { Logger } from './logger.js';

export interface SharedRedis {
  readonly client: Redis;
  /** Prefix every key with this. */
  readonly prefix: string;
  /** True while commands can be sent. */
  isReady(): boolean;
  close(): Promise<void>;
}

const MAX_RECONNECT_DELAY_MS = 5000;

/** The URL without credentials, safe for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}

export function connectRedis(config: RedisConfig, logger: Logger): SharedRedis {
  const log = logger.child({ component: 'redis', redis: redactedUrl(config.url) });
  const client = new Redis(config.url, {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    // Reconnect forever, backing off to 5 s: the gateway runs without Redis meanwhile.
    retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
  });
  let wasReady = false;
  client.on('ready', () => {
    wasReady = true;
    log.info('redis connected: shared state is on');
  });
  client.on('error', (error: Error) => {
    log.warn({ err: { message: error.message } }, wasReady ? 'redis connection lost: falling back to this process' : 'redis not reachable yet');
  });
  return {
    client,
    prefix: config.keyPrefix,
    isReady: () => client.status === 'ready',
    async close() {
      client.disconnect();
    },
  };
}

/** Whether a Redis answers at `url` right now (one connection attempt, no retries). */
export async function pingRedis(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => {}); // the failed connect below says it all
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
