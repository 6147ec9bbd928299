// The response cache's key: the tenant and the signed-in user (ids are signed per user), content negotiation, the origin (CORS headers are part of the
// answer) and the exact body bytes. Two requests with the same key get byte-identical answers.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Everything the response depends on besides the body: the caller, content negotiation and CORS. */
export function cacheKey(req: IncomingMessage, caller: { tenant: string | null; user: string | null }, body: Buffer): string {
  // JSON: a user id may hold any character, so no separator could be trusted to end it.
  return createHash('sha256')
    .update(`${JSON.stringify([caller.tenant, caller.user])}\u0000${req.headers.accept ?? ''}\u0000${req.headers.origin ?? ''}\u0000`)
    .update(body)
    .digest('base64url');
}
