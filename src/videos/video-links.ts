// Links to stored video copies: capability URLs, like signed S3 URLs. A link names the object and an
// expiry and carries an HMAC of both; whoever holds it may play the video until then, with any key or
// none (a `<video src>` cannot send headers), and no one can make or stretch one without the secret.
// The link names no tenant: the object's name is a hash (copy-keys.ts).
//
// Expiries fall on a grid of the TTL, so every read within one step hands out the same URL (a
// browser's cache and a player's ranged requests keep working across reads) and each lives between
// one and two TTLs from the read that made it.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Under the gateway's public URL; the HTTP layer routes this prefix to stored-video-route.ts. */
export const STORED_VIDEO_PREFIX = '/videos/';

export interface VideoLink {
  url: string;
  expiresAt: Date;
}

export type LinkVerdict = 'valid' | 'expired' | 'forged';

export class VideoLinks {
  readonly #secret: Buffer;
  readonly #publicUrl: () => string;
  readonly #ttlSeconds: number;

  /** `publicUrl`: where browsers reach the gateway, without a trailing slash (known once it listens). */
  constructor(secret: Buffer, publicUrl: () => string, ttlSeconds: number) {
    this.#secret = secret;
    this.#publicUrl = publicUrl;
    this.#ttlSeconds = ttlSeconds;
  }

  linkFor(key: string, nowMs = Date.now()): VideoLink {
    const step = this.#ttlSeconds;
    const expires = (Math.floor(nowMs / 1000 / step) + 2) * step;
    const query = new URLSearchParams({ expires: String(expires), signature: this.#sign(key, expires) });
    return { url: `${this.#publicUrl()}${STORED_VIDEO_PREFIX}${key}?${query.toString()}`, expiresAt: new Date(expires * 1000) };
  }

  /** Judges a link's parts as they came in the request (strings, possibly absent or junk). */
  verify(key: string, expires: string | null, signature: string | null, nowMs = Date.now()): LinkVerdict {
    if (expires === null || signature === null || !/^\d{1,12}$/.test(expires)) return 'forged';
    const expected = Buffer.from(this.#sign(key, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    // Only a genuine link is told it has expired; anything else learns nothing.
    return Number(expires) * 1000 <= nowMs ? 'expired' : 'valid';
  }

  #sign(key: string, expires: number): string {
    return createHmac('sha256', this.#secret).update(`stored-video\0${key}\0${expires}`).digest('base64url');
  }
}
