// The task ids handed to clients. With client keys, an id carries its tenant and the upstream id
// under an HMAC with the server secret, so ownership needs no store, survives restarts and holds
// across replicas, and no client can forge or borrow another tenant's id. Without keys, ids are
// the upstream task ids verbatim.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TaskIdCodec {
  /** The id a caller sees for an upstream task id. */
  toPublic(upstreamId: string, tenant: string | null): string;
  /** The upstream id behind a public id, or null when the id is not this caller's (or not an id at all). */
  toUpstream(publicId: string, tenant: string | null): string | null;
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

  toPublic(upstreamId: string, tenant: string | null): string {
    const payload = Buffer.from(`${tenant ?? ''}:${upstreamId}`, 'utf8');
    const mac = createHmac('sha256', this.#secret).update(payload).digest().subarray(0, MAC_BYTES);
    return `${payload.toString('base64url')}.${mac.toString('base64url')}`;
  }

  toUpstream(publicId: string, tenant: string | null): string | null {
    const dot = publicId.lastIndexOf('.');
    if (dot <= 0) return null;
    const payload = Buffer.from(publicId.slice(0, dot), 'base64url').toString('utf8');
    const colon = payload.indexOf(':');
    if (colon < 0) return null;
    const owner = payload.slice(0, colon);
    const upstreamId = payload.slice(colon + 1);
    if (upstreamId === '') return null;
    // Re-encode and compare whole ids: this checks the MAC and accepts only the canonical encoding.
    const expected = Buffer.from(this.toPublic(upstreamId, owner));
    const given = Buffer.from(publicId);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return owner === (tenant ?? '') ? upstreamId : null;
  }
}
