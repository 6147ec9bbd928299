// The response cache's key: the tenant and the signed-in user (ids are signed per user), content negotiation, the origin (CORS headers are part of the
// answer) and the exact body bytes. Two requests with the same key get byte-identical answers.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { scopeKeyOf, type IdScope } from '../auth/caller-owner.js';

/** Everything the response depends on besides the body: the caller, content negotiation and CORS. */
export function cacheKey(req: IncomingMessage, caller: IdScope, body: Buffer): string {
  return createHash('sha256')
    .update(`${scopeKeyOf(caller) ?? ''}\u0000${req.headers.accept ?? ''}\u0000${req.headers.origin ?? ''}\u0000`)
    .update(body)
    .digest('base64url');
}
