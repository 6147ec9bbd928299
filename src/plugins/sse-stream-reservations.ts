// The streams of graphql-sse's single-connection mode, as the gateway counts them. graphql-sse
// itself keeps a reserved stream (PUT) until an event stream connects to it and ends, for as long
// as that takes, and serves a stream to anyone who presents its token. Here each stream belongs to
// the caller that reserved it (a tenant, or a caller address on an open gateway), a caller holds at
// most so many, reservations waiting for their event stream are bounded process-wide and dropped
// after a while, and every open stream can be ended at shutdown.
import { randomUUID } from 'node:crypto';

export interface StreamReservationLimits {
  /** Streams (reserved or open) one owner may hold. */
  maxPerOwner: number;
  /** Reservations still waiting for their event stream, across all owners. */
  maxPending: number;
  /** A reservation whose event stream has not connected within this is dropped. */
  connectTimeoutMs: number;
}

export interface StreamRefusal {
  code: 'TOO_MANY_STREAMS';
  message: string;
  limit: number;
  scope: 'tenant' | 'process';
}

interface Reservation {
  owner: string;
  /** Until the event stream connects: what drops the reservation when it never does. */
  expiry: ReturnType<typeof setTimeout> | undefined;
  /** Once the event stream has connected: ends it (at shutdown). */
  end: (() => void) | undefined;
}

export class StreamReservations {
  readonly #streams = new Map<string, Reservation>();
  readonly #perOwner = new Map<string, number>();
  #pending = 0;

  /**
   * @param onExpired told the token of a reservation dropped because its event stream never came,
   *   so that graphql-sse forgets it too.
   */
  constructor(
    private readonly limits: StreamReservationLimits,
    private readonly onExpired: (token: string) => void,
  ) {}

  /** Streams held now, reserved or open. */
  get size(): number {
    return this.#streams.size;
  }

  /** A new stream for `owner`, under a token nobody can guess; or why not. */
  reserve(owner: string): { token: string } | { refusal: StreamRefusal } {
    const held = this.#perOwner.get(owner) ?? 0;
    if (held >= this.limits.maxPerOwner) {
      const limit = this.limits.maxPerOwner;
      return { refusal: { code: 'TOO_MANY_STREAMS', message: `At most ${limit} event streams may be held at once; close one first.`, limit, scope: 'tenant' } };
    }
    if (this.#pending >= this.limits.maxPending) {
      const limit = this.limits.maxPending;
      return { refusal: { code: 'TOO_MANY_STREAMS', message: 'Too many event streams are waiting to connect; try again shortly.', limit, scope: 'process' } };
    }
    const token = randomUUID();
    const expiry = setTimeout(() => {
      this.release(token);
      this.onExpired(token);
    }, this.limits.connectTimeoutMs);
    expiry.unref();
    this.#streams.set(token, { owner, expiry, end: undefined });
    this.#perOwner.set(owner, held + 1);
    this.#pending++;
    return { token };
  }

  /** Whether `owner` holds the stream `token`: no one else may connect to it, post to it or stop its operations. */
  isHeldBy(token: string, owner: string): boolean {
    return this.#streams.get(token)?.owner === owner;
  }

  /** Whether the stream's event stream has connected (operations are taken only then). */
  isOpen(token: string): boolean {
    return this.#streams.get(token)?.end !== undefined;
  }

  /** The event stream has connected; `end` ends it. */
  opened(token: string, end: () => void): void {
    const stream = this.#streams.get(token);
    if (!stream || stream.end !== undefined) return;
    clearTimeout(stream.expiry);
    stream.expiry = undefined;
    stream.end = end;
    this.#pending--;
  }

  /** The stream is gone (its event stream ended, or it never connected). Repeats are harmless. */
  release(token: string): void {
    const stream = this.#streams.get(token);
    if (!stream) return;
    this.#streams.delete(token);
    if (stream.end === undefined) {
      clearTimeout(stream.expiry);
      this.#pending--;
    }
    const held = (this.#perOwner.get(stream.owner) ?? 1) - 1;
    if (held > 0) this.#perOwner.set(stream.owner, held);
    else this.#perOwner.delete(stream.owner);
  }

  /** Shutdown: every open event stream ends, every waiting reservation is dropped. */
  endAll(): void {
    for (const [token, stream] of [...this.#streams]) {
      this.release(token);
      if (stream.end) stream.end();
      else this.onExpired(token);
    }
  }
}
