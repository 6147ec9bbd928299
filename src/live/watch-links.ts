// Watch links: a signed, expiring URL that streams one task's `taskUpdates` as server-sent events
// with no Authorization header, so a page can hand it to `new EventSource(url)` without holding a
// credential. The link carries whose view it is (tenant, signed-in user) and the task; signed
// (auth/link-signer.ts), so nobody can make one, widen one to another task or user, or stretch
// its expiry.
import type { IdScope } from '../auth/caller-owner.js';
import { LinkSigner } from '../auth/link-signer.js';

export const WATCH_LINK_PREFIX = '/watch/';

export type WatchLinkVerdict =
  | { kind: 'valid'; scope: IdScope; taskId: string }
  | { kind: 'expired' }
  /** Not signed here, altered, or not a link at all. */
  | { kind: 'forged' };

/** The longest token path segment believed: a tenant, a user id and a task id, encoded. */
const MAX_TOKEN_CHARS = 2048;

export class WatchLinks {
  readonly #signer: LinkSigner;
  readonly #publicUrl: () => string;

  constructor(secret: Buffer, publicUrl: () => string, ttlSeconds: number) {
    this.#signer = new LinkSigner(secret, 'watch-link', ttlSeconds);
    this.#publicUrl = publicUrl;
  }

  linkFor(scope: IdScope, taskId: string, nowMs = Date.now()): { url: string; expiresAt: Date } {
    const token = Buffer.from(JSON.stringify([scope.tenant, scope.user, taskId]), 'utf8').toString('base64url');
    const { expires, signature } = this.#signer.sign(token, nowMs);
    const query = new URLSearchParams({ expires: String(expires), signature });
    return { url: `${this.#publicUrl()}${WATCH_LINK_PREFIX}${token}?${query.toString()}`, expiresAt: new Date(expires * 1000) };
  }

  verify(token: string, expires: string | null, signature: string | null, nowMs = Date.now()): WatchLinkVerdict {
    if (token.length > MAX_TOKEN_CHARS) return { kind: 'forged' };
    const verdict = this.#signer.check(token, expires, signature, nowMs);
    if (verdict !== 'valid') return { kind: verdict };
    const parts: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    // Signed by us, so well formed; checked anyway, as everything read from a URL is.
    if (!Array.isArray(parts) || parts.length !== 3) return { kind: 'forged' };
    const [tenant, user, taskId] = parts as unknown[];
    if ((tenant !== null && typeof tenant !== 'string') || (user !== null && typeof user !== 'string') || typeof taskId !== 'string') return { kind: 'forged' };
    return { kind: 'valid', scope: { tenant, user }, taskId };
  }
}
