// One poller per task across replicas. The replica holding a task's lease (SET NX PX, renewed on a
// timer of its own, released when its last watcher leaves) reads the upstream and publishes each
// result on one Redis channel; every replica hands them to its own watchers. A replica that dies
// stops renewing, its lease expires, and the next replica with watchers takes over. While Redis is
// away, each replica polls for itself: a pause in sharing, not an outage.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SharedRedis } from '../redis-connection.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { PollCoordinator } from './poll-coordinator.js';
import { snapshotFromJson, snapshotToJson } from '../tasks/snapshot-json.js';

// Renew or release only a lease this replica still holds.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Published {
  from: string;
  snapshot: string;
}

export class RedisPollCoordinator implements PollCoordinator {
  readonly #redis: SharedRedis;
  readonly #subscriber: Redis;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  /** This replica's identity in leases and messages; host and pid first, for operators. */
  readonly #self = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly #held = new Map<string, NodeJS.Timeout>();
  readonly #listeners: ((snapshot: TaskSnapshot) => void)[] = [];
  readonly #channel: string;

  constructor(redis: SharedRedis, leaseMs: number, logger: Logger) {
    this.#redis = redis;
    this.#leaseMs = leaseMs;
    this.#logger = logger.child({ component: 'poll-coordinator' });
    this.#channel = `${redis.prefix}task-updates`;
    // Pub/sub needs a connection of its own. ioredis re-subscribes only to channels whose SUBSCRIBE
    // once succeeded, so subscribe on every (re)connect: a replica started while Redis was away
    // must still hear the lease holder once Redis is back.
    this.#subscriber = redis.client.duplicate({ enableOfflineQueue: false, autoResubscribe: true });
    this.#subscriber.on('error', () => {}); // the main connection already logs Redis trouble
    this.#subscriber.on('message', (_channel: string, message: string) => this.#receive(message));
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).catch((error: Error) => {
        this.#logger.warn({ err: { message: error.message } }, 'could not subscribe to task updates');
      });
    });
  }

  async mayPoll(id: string): Promise<boolean> {
    if (!this.#redis.isReady()) return true; // alone until Redis is back
    try {
      if (this.#held.has(id)) {
        const renewed = await this.#redis.client.eval(RENEW, 1, this.#leaseKey(id), this.#self, String(this.#leaseMs));
        if (renewed === 1) return true;
        this.#stopRenewing(id); // lost it (expired while Redis was away): someone else may hold it now
      }
      const won = await this.#redis.client.set(this.#leaseKey(id), this.#self, 'PX', this.#leaseMs, 'NX');
      if (won !== 'OK') return false;
      // Renew on a timer of its own: an upstream call can take longer than the lease.
      const timer = setInterval(() => {
        this.#redis.client.eval(RENEW, 1, this.#leaseKey(id), this.#self, String(this.#leaseMs)).catch(() => {});
      }, Math.max(100, Math.floor(this.#leaseMs / 3)));
      this.#held.set(id, timer);
      return true;
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'lease check failed: polling from this replica');
      return true;
    }
  }

  release(id: string): void {
    if (!this.#held.has(id)) return;
    this.#stopRenewing(id);
    this.#redis.client.eval(RELEASE, 1, this.#leaseKey(id), this.#self).catch(() => {});
  }

  publish(snapshot: TaskSnapshot): void {
    if (!this.#redis.isReady()) return;
    const message: Published = { from: this.#self, snapshot: snapshotToJson(snapshot) };
    this.#redis.client.publish(this.#channel, JSON.stringify(message)).catch(() => {});
  }

  onSnapshot(listener: (snapshot: TaskSnapshot) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    for (const id of [...this.#held.keys()]) this.release(id);
    this.#subscriber.disconnect();
  }

  #leaseKey(id: string): string {
    return `${this.#redis.prefix}lease:${id}`;
  }

  #stopRenewing(id: string): void {
    clearInterval(this.#held.get(id));
    this.#held.delete(id);
  }

  #receive(message: string): void {
    try {
      const published = JSON.parse(message) as Published;
      if (published.from === this.#self) return;
      const snapshot = snapshotFromJson(published.snapshot);
      for (const listener of this.#listeners) listener(snapshot);
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'ignored a malformed task update');
    }
  }
}
