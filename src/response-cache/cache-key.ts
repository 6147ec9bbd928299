// The response cache's key: the tenant, content negotiation, the origin (CORS headers are part of the
// answer) and the exact body bytes. Two requests with the same key get byte-identical answers.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Everything the response depends on besides the body: the tenant, content negotiation and CORS. */
export function cacheKey(req: IncomingMessage, tenant: string | null, body: Buffer): string {
  return createHash('sha256')
    .update(`${tenant ?? ''}\u0000${req.headers.accept ?? ''}\u0000${req.headers.origin ?? ''}\u0000`)
    .update(body)
    .digest('base64url');
}
