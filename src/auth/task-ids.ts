// The task ids handed to clients. With client keys (or signed-in users), an id carries its tenant,
// the user it was handed to (when a signed-in user), and the upstream id under an HMAC with the
// server secret, so ownership needs no store, survives restarts and holds across replicas, and no
// client can forge or borrow another tenant's or another user's id. A tenant's client key may use
// the ids of all its users; a user only its own. Without keys, ids are the upstream ids verbatim.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IdScope } from './caller-owner.js';

export interface TaskIdCodec {
  /** The id a caller sees for an upstream task id. */
  toPublic(upstreamId: string, scope: IdScope): string;
  /** The upstream id behind a public id, or null when the id is not this caller's (or not an id at all). */
  toUpstream(publicId: string, scope: IdScope): string | null;
}

export const verbatimTaskIds: TaskIdCodec = {
  toPublic: (upstreamId) => upstreamId,
  toUpstream: (publicId) => publicId,
};

// 128 bits of MAC: far beyond guessing, and keeps ids short.
const MAC_BYTES = 16;

export class SignedTaskIds implements TaskIdCodec {
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  toPublic(upstreamId: string, scope: IdScope): string {
    return this.#sign(ownerOf(scope), upstreamId);
  }

  toUpstream(publicId: string, scope: IdScope): string | null {
    const dot = publicId.lastIndexOf('.');
    if (dot <= 0) return null;
    const payload = Buffer.from(publicId.slice(0, dot), 'base64url').toString('utf8');
    // The owner never holds a ':' (tenants are letters, digits, _ and -; a user is base64url), so
    // the first one ends it.
    const colon = payload.indexOf(':');
    if (colon < 0) return null;
    const owner = payload.slice(0, colon);
    const upstreamId = payload.slice(colon + 1);
    if (upstreamId === '') return null;
    // Re-encode and compare whole ids: this checks the MAC and accepts only the canonical encoding.
    const expected = Buffer.from(this.#sign(owner, upstreamId));
    const given = Buffer.from(publicId);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return mayUse(owner, scope) ? upstreamId : null;
  }

  #sign(owner: string, upstreamId: string): string {
    const payload = Buffer.from(`${owner}:${upstreamId}`, 'utf8');
    const mac = createHmac('sha256', this.#secret).update(payload).digest().subarray(0, MAC_BYTES);
    return `${payload.toString('base64url')}.${mac.toString('base64url')}`;
  }
}

/**
 * Who an id is handed to, as it is written in the id: the tenant (as before users existed, so
 * earlier ids still verify), or `tenant@user` with the user's id in base64url (any characters).
 */
function ownerOf(scope: IdScope): string {
  const tenant = scope.tenant ?? '';
  return scope.user === null ? tenant : `${tenant}@${Buffer.from(scope.user, 'utf8').toString('base64url')}`;
}

/** A user may use only ids handed to that user; a tenant's key, every id of the tenant. */
function mayUse(owner: string, scope: IdScope): boolean {
  if (scope.user !== null) return owner === ownerOf(scope);
  const at = owner.indexOf('@');
  return (at < 0 ? owner : owner.slice(0, at)) === (scope.tenant ?? '');
}
