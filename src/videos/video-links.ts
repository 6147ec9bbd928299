// Links to stored video copies: capability URLs, like signed S3 URLs. Whoever holds one may play the
// video until it expires, with any key or none (a `<video src>` cannot send headers). The link
// names only the object, whose name is a hash (copy-keys.ts): no tenant, no task id. Signing and
// the expiry grid: auth/link-signer.ts.
import { LinkSigner, type LinkVerdict } from '../auth/link-signer.js';

/** Under the gateway's public URL; the HTTP layer routes this prefix to stored-video-route.ts. */
export const STORED_VIDEO_PREFIX = '/videos/';

export interface VideoLink {
  url: string;
  expiresAt: Date;
}

export class VideoLinks {
  readonly #signer: LinkSigner;
  readonly #publicUrl: () => string;

  /** `publicUrl`: where browsers reach the gateway, without a trailing slash (known once it listens). */
  constructor(secret: Buffer, publicUrl: () => string, ttlSeconds: number) {
    this.#signer = new LinkSigner(secret, 'stored-video', ttlSeconds);
    this.#publicUrl = publicUrl;
  }

  linkFor(key: string, nowMs = Date.now()): VideoLink {
    const { expires, signature } = this.#signer.sign(key, nowMs);
    const query = new URLSearchParams({ expires: String(expires), signature });
    return { url: `${this.#publicUrl()}${STORED_VIDEO_PREFIX}${key}?${query.toString()}`, expiresAt: new Date(expires * 1000) };
  }

  verify(key: string, expires: string | null, signature: string | null, nowMs = Date.now()): LinkVerdict {
    return this.#signer.check(key, expires, signature, nowMs);
  }
}
