// Idempotency-Key for creates (the Stripe / IETF draft convention), per tenant, for 24 hours.
// The same key with the same input returns the same task and never calls the upstream again, also
// when both requests arrive at once; with other input it is refused. Records live in process
// memory behind a small interface, so a shared store can take their place.
import { LRUCache } from 'lru-cache';
import type { CreatePayloadValue } from './input.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** How a create ended, as far as a replay needs to know. */
export type CreateOutcome =
  | {
      kind: 'created';
      payload: CreatePayloadValue;
      /**
       * When the gateway accepted the first create (epoch ms): a replay writes the history record
       * again with it (a no-op when it exists). Absent in records kept from before the history.
       */
      acceptedAtMs?: number;
    }
  /** The upstream may or may not have started the job (timeout, connection lost after sending). */
  | { kind: 'unknown'; error: ReplayedError };

/** What a replay of an unknown outcome answers: the first request's error code and message. */
export interface ReplayedError {
  code: string;
  message: string;
}

export type Claim =
  | { kind: 'claimed'; settle(outcome: CreateOutcome): Promise<void>; free(): Promise<void> }
  | { kind: 'replay'; outcome: CreateOutcome }
  | { kind: 'mismatch' }
  /** Another request holds the key and did not finish within the wait (shared store). */
  | { kind: 'in-progress'; retryAfterSeconds: number }
  /** The shared store cannot be reached: fail closed rather than risk a second billed video. */
  | { kind: 'unavailable' };

interface IdempotencyRecord {
  fingerprint: string;
  /** Set once settled; until then `settled` resolves when the first request ends. */
  outcome?: CreateOutcome;
  settled: Promise<void>;
}

export interface IdempotencyStore {
  claim(tenant: string | null, key: string, fingerprint: string): Promise<Claim>;
}

/** Tenants never share keys: two tenants may use the same key for different tasks. */
export function scopedKey(tenant: string | null, key: string): string {
  return `${tenant ?? ''}\u0000${key}`;
}

/** What makes two creates "the same input": the exact upstream body. */
export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly #records: LRUCache<string, IdempotencyRecord>;

  constructor(maxKeys: number) {
    this.#records = new LRUCache({ max: maxKeys, ttl: IDEMPOTENCY_TTL_MS });
  }

  async claim(tenant: string | null, key: string, fingerprint: string): Promise<Claim> {
    const scoped = scopedKey(tenant, key);
    for (;;) {
      const existing = this.#records.get(scoped);
      if (!existing) break;
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (existing.outcome) return { kind: 'replay', outcome: existing.outcome };
      // The first request with this key is still running: wait for it, then look again (it may
      // have freed the key, in which case this request claims it).
      await existing.settled;
    }
    let resolve!: () => void;
    const record: IdempotencyRecord = { fingerprint, settled: new Promise<void>((r) => (resolve = r)) };
    this.#records.set(scoped, record);
    return {
      kind: 'claimed',
      settle: async (outcome) => {
        record.outcome = outcome;
        resolve();
      },
      free: async () => {
        if (this.#records.get(scoped) === record) this.#records.delete(scoped);
        resolve();
      },
    };
  }
}
