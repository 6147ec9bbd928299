// Watch links: a signed, expiring URL that streams one task's `taskUpdates` as server-sent events
// with no Authorization header, so a page can hand it to `new EventSource(url)` without holding a
// credential. The link carries whose view it is (tenant, signed-in user) and the task, sealed
// (AES-256-GCM), so the URL names no tenant, user or task in clear (it ends up in browser history
// and proxy logs), and signed (auth/link-signer.ts), so nobody can make one, widen one to another
// task or user, or stretch its expiry. Sealing is deterministic (the IV is an HMAC of the
// contents): the same view of the same task seals alike, so reads within one expiry step still
// hand out the same URL.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { IdScope } from '../auth/caller-owner.js';
import { LinkSigner } from '../auth/link-signer.js';

export const WATCH_LINK_PREFIX = '/watch/';

export type WatchLinkVerdict =
  | { kind: 'valid'; scope: IdScope; taskId: string }
  | { kind: 'expired' }
  /** Not signed here, altered, or not a link at all. */
  | { kind: 'forged' };

/** The longest token path segment believed: a tenant, a user id and a task id, sealed and encoded. */
const MAX_TOKEN_CHARS = 2048;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class WatchLinks {
  readonly #signer: LinkSigner;
  readonly #publicUrl: () => string;
  /** Keys for sealing the contents, derived from the link secret (one per use). */
  readonly #sealKey: Buffer;
  readonly #ivKey: Buffer;

  constructor(secret: Buffer, publicUrl: () => string, ttlSeconds: number) {
    this.#signer = new LinkSigner(secret, 'watch-link', ttlSeconds);
    this.#publicUrl = publicUrl;
    this.#sealKey = createHmac('sha256', secret).update('watch-link seal key').digest();
    this.#ivKey = createHmac('sha256', secret).update('watch-link seal iv').digest();
  }

  linkFor(scope: IdScope, taskId: string, nowMs = Date.now()): { url: string; expiresAt: Date } {
    const token = this.#seal(Buffer.from(JSON.stringify([scope.tenant, scope.user, taskId]), 'utf8'));
    const { expires, signature } = this.#signer.sign(token, nowMs);
    const query = new URLSearchParams({ expires: String(expires), signature });
    return { url: `${this.#publicUrl()}${WATCH_LINK_PREFIX}${token}?${query.toString()}`, expiresAt: new Date(expires * 1000) };
  }

  verify(token: string, expires: string | null, signature: string | null, nowMs = Date.now()): WatchLinkVerdict {
    if (token.length > MAX_TOKEN_CHARS) return { kind: 'forged' };
    const verdict = this.#signer.check(token, expires, signature, nowMs);
    if (verdict !== 'valid') return { kind: verdict };
    const contents = this.#open(token);
    if (contents === undefined) return { kind: 'forged' };
    const parts: unknown = JSON.parse(contents.toString('utf8'));
    // Signed by us, so well formed; checked anyway, as everything read from a URL is.
    if (!Array.isArray(parts) || parts.length !== 3) return { kind: 'forged' };
    const [tenant, user, taskId] = parts as unknown[];
    if ((tenant !== null && typeof tenant !== 'string') || (user !== null && typeof user !== 'string') || typeof taskId !== 'string') return { kind: 'forged' };
    return { kind: 'valid', scope: { tenant, user }, taskId };
  }

  #seal(plain: Buffer): string {
    const iv = createHmac('sha256', this.#ivKey).update(plain).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#sealKey, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** The contents of a token sealed here; undefined for anything else. */
  #open(token: string): Buffer | undefined {
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#sealKey, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return undefined;
    }
  }
}
