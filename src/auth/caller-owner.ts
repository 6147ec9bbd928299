// Whose per-caller limits (rate, subscriptions, pollers, event streams) a request counts against:
// the tenant of its client key, or, on an open gateway, the caller's address.
import { createHash } from 'node:crypto';

/** Who is calling, as the HTTP layer or the WebSocket handshake authenticated it. */
export interface AuthenticatedCaller {
  /** The tenant of the client key or of the signed-in user; null on an open gateway. */
  tenant: string | null;
  /** The signed-in user (the token's `sub`); null for a client key or an open gateway. */
  user: string | null;
  /** The peer's address. */
  address: string;
  /** When a signed-in user's token expires: a WebSocket session ends then. Undefined for client keys. */
  expiresAt?: Date | undefined;
}

/** Whose task ids a caller sees and may use: a tenant's (its client key), or one user's within it. */
export interface IdScope {
  tenant: string | null;
  user: string | null;
}

/**
 * One string per id scope, for keys of what belongs to it (Idempotency-Keys, cached answers,
 * per-user buckets): the tenant alone for its client key (as before users existed, so existing
 * keys stay valid), else tenant and user as JSON (a user id may hold any character, so no
 * separator could be trusted to end it).
 */
export function scopeKeyOf(scope: IdScope): string | null {
  return scope.user === null ? scope.tenant : JSON.stringify([scope.tenant, scope.user]);
}

export function idScopeOf(caller: AuthenticatedCaller | undefined): IdScope {
  return { tenant: caller?.tenant ?? null, user: caller?.user ?? null };
}

/**
 * Where per-user limits (the create rate) count: the signed-in user within its tenant, as a hash (a
 * user id may be long and hold any character; this names Redis keys); undefined for others.
 */
export function userLimitOwnerOf(caller: AuthenticatedCaller | undefined): string | undefined {
  if (caller?.user == null || caller.tenant === null) return undefined;
  return `user:${createHash('sha256').update(scopeKeyOf(caller) ?? '').digest('base64url')}`;
}

export function limitOwnerOf(caller: AuthenticatedCaller | undefined): string {
  if (!caller) return 'address:unknown';
  return caller.tenant === null ? `address:${caller.address}` : `tenant:${caller.tenant}`;
}
