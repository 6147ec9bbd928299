// Who is calling, from the Authorization header (or a WebSocket's connectionParams): a tenant's
// client key, a signed-in user's JWT (`Bearer <token>` from an identity provider the operator
// configured), or nobody on an open gateway. Refusals say nothing useful to a forger: the caller
// answers one generic 401, and why (expired, bad signature, unknown issuer…) goes to the log only.
import type { AuthenticatedCaller } from './caller-owner.js';
import type { ClientKeyring } from './client-keys.js';

/** Verifies end-user tokens (jwt-verifier.ts); `failure` is a code for the log, never shown to clients. */
export interface TokenVerifier {
  /** Whether a bearer value is a token at all (a JWS compact token) rather than a client key. */
  looksLikeToken(bearer: string): boolean;
  verify(token: string): Promise<{ ok: true; tenant: string; user: string; expiresAt: Date } | { ok: false; failure: string }>;
}

function bearerOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  return match?.[1];
}

/** Told why a token was refused (for the log: clients only ever see one generic 401). */
export type OnTokenRefused = (refusal: { reason: string; address: string }) => void;

export class Authenticator {
  readonly #keyring: ClientKeyring | undefined;
  readonly #tokens: TokenVerifier | undefined;
  readonly #onTokenRefused: OnTokenRefused;

  constructor(keyring: ClientKeyring | undefined, tokens: TokenVerifier | undefined, onTokenRefused: OnTokenRefused) {
    this.#keyring = keyring;
    this.#tokens = tokens;
    this.#onTokenRefused = onTokenRefused;
  }

  /** No client keys and no identity providers: everyone may call, as one anonymous tenant. */
  get open(): boolean {
    return this.#keyring === undefined && this.#tokens === undefined;
  }

  /** Whether the header holds a valid client key (checked at once, without I/O). */
  holdsClientKey(authorization: string | undefined): boolean {
    return this.#keyring?.tenantForAuthorization(authorization) !== undefined;
  }

  /** The caller, or undefined when the credential is missing or not valid. */
  async authenticate(authorization: string | undefined, address: string): Promise<AuthenticatedCaller | undefined> {
    if (this.open) return { tenant: null, user: null, address };
    const bearer = bearerOf(authorization);
    if (this.#tokens && bearer !== undefined && this.#tokens.looksLikeToken(bearer)) {
      const verdict = await this.#tokens.verify(bearer);
      if (verdict.ok) return { tenant: verdict.tenant, user: verdict.user, address, expiresAt: verdict.expiresAt };
      this.#onTokenRefused({ reason: verdict.failure, address });
      return undefined;
    }
    const tenant = this.#keyring?.tenantForAuthorization(authorization);
    return tenant === undefined ? undefined : { tenant, user: null, address };
  }
}
