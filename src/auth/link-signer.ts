// Signed, expiring links (stored videos, watch links): what a link names and when it expires, under
// an HMAC with a secret the history keeps for every replica. Nobody can make one, point one at
// something else, or stretch its expiry. Expiries fall on a grid of the TTL, so every read within
// one step hands out the same URL (browser caches and players keep working across reads) and each
// link lives between one and two TTLs from the read that made it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkVerdict = 'valid' | 'expired' | 'forged';

export class LinkSigner {
  readonly #secret: Buffer;
  /** Keeps one kind of link from passing for another under the same secret. */
  readonly #purpose: string;
  readonly #ttlSeconds: number;

  constructor(secret: Buffer, purpose: string, ttlSeconds: number) {
    this.#secret = secret;
    this.#purpose = purpose;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The expiry (epoch seconds) of a link made now, and its signature over `subject`. */
  sign(subject: string, nowMs = Date.now()): { expires: number; signature: string } {
    const step = this.#ttlSeconds;
    const expires = (Math.floor(nowMs / 1000 / step) + 2) * step;
    return { expires, signature: this.#mac(subject, expires) };
  }

  /** Judges a link's parts as they came in the request (strings, possibly absent or junk). */
  check(subject: string, expires: string | null, signature: string | null, nowMs = Date.now()): LinkVerdict {
    if (expires === null || signature === null || !/^\d{1,12}$/.test(expires)) return 'forged';
    const expected = Buffer.from(this.#mac(subject, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    // Only a genuine link is told it has expired; anything else learns nothing.
    return Number(expires) * 1000 <= nowMs ? 'expired' : 'valid';
  }

  #mac(subject: string, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${this.#purpose}\0${subject}\0${expires}`).digest('base64url');
  }
}
