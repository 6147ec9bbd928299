// Signed-in users: checks a JWT from one of the configured identity providers and says which user of
// which tenant it names, or, for the log only, why not. jose does the cryptography and the claim
// checks; this module picks the provider by the token's (unverified) issuer, keeps one cached key set
// per provider, and turns every way a token can fail into a reason code. It never throws for a bad
// token, and a verdict never carries any part of the token.
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { TENANT_NAME, type JwtProvider } from './jwt-providers.js';

/** Why a token was refused: for the log, never for the client (it gets one generic 401). */
export type JwtFailure =
  | 'MALFORMED'
  | 'UNKNOWN_ISSUER'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'BAD_SIGNATURE'
  | 'BAD_AUDIENCE'
  | 'UNKNOWN_KEY'
  | 'JWKS_UNAVAILABLE'
  | 'ALGORITHM_REFUSED'
  | 'NO_SUBJECT'
  | 'NO_TENANT';

export type JwtVerdict = { ok: true; tenant: string; user: string; issuer: string; expiresAt: Date } | { ok: false; failure: JwtFailure };

export interface JwtVerifierOptions {
  /** Leeway for `exp` and `nbf` against clocks that disagree a little. Default 30 s. */
  clockToleranceSeconds?: number;
  /**
   * The floor between two fetches of one provider's key set: after a fetch (successful or not), a
   * token naming a key the set lacks is refused without asking again until this has passed, so a
   * flood of made-up `kid`s costs the provider at most one request per period. Default 30 s.
   */
  jwksCooldownMs?: number;
  /** How long a fetched key set is trusted before it is fetched again. Default 10 min. */
  jwksCacheMaxAgeMs?: number;
  /** The bound on one key-set fetch, body included. Default 5 s. */
  jwksTimeoutMs?: number;
}

// Headers are bounded by Node (16 KiB), a WebSocket connection_init payload is not; no identity
// provider's token comes near this.
const MAX_TOKEN_CHARS = 16_384;
// OpenID Connect: `sub` is at most 255 ASCII characters.
const MAX_SUBJECT_CHARS = 255;
const MAX_KID_CHARS = 256;
// A key set is a few KiB; an answer this large is not one.
const MAX_JWKS_BYTES = 1024 * 1024;
// Compact JWS: header.payload.signature, base64url. An empty signature is still routed here so a
// `none` token is refused as such rather than mistaken for a client key.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

type KeyLookupFailure = Extract<JwtFailure, 'UNKNOWN_KEY' | 'JWKS_UNAVAILABLE' | 'ALGORITHM_REFUSED'>;

/** Thrown from the key resolver so `verify` can tell a key-set problem from a token problem by class, not message. */
class KeyLookupFailed extends Error {
  override readonly name = 'KeyLookupFailed';

  constructor(
    readonly failure: KeyLookupFailure,
    options: ErrorOptions,
  ) {
    super(failure, options);
  }
}

/** The provider's key set answered with something that is not a usable key set. */
class JwksAnswerRefused extends Error {
  override readonly name = 'JwksAnswerRefused';
}

interface ProviderEntry {
  provider: JwtProvider;
  keys: JWTVerifyGetKey;
}

export class JwtVerifier {
  readonly #byIssuer: ReadonlyMap<string, ProviderEntry>;
  readonly #clockToleranceSeconds: number;

  constructor(providers: JwtProvider[], options: JwtVerifierOptions = {}) {
    this.#clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
    const keySetOptions = {
      cooldownMs: options.jwksCooldownMs ?? 30_000,
      cacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
      timeoutMs: options.jwksTimeoutMs ?? 5_000,
    };
    const byIssuer = new Map<string, ProviderEntry>();
    for (const provider of providers) {
      // parseJwtProviders refuses this; a second entry would silently never be used.
      if (byIssuer.has(provider.issuer)) throw new Error(`JwtVerifier: two providers share the issuer ${provider.issuer}`);
      byIssuer.set(provider.issuer, { provider, keys: remoteKeys(provider, keySetOptions) });
    }
    this.#byIssuer = byIssuer;
  }

  /**
   * Whether a bearer credential has the shape of a JWT (three base64url segments, the first a JSON
   * object), as opposed to a client key. Says nothing about whether it verifies.
   */
  static looksLikeJwt(bearer: string): boolean {
    if (typeof bearer !== 'string' || bearer.length > MAX_TOKEN_CHARS || !COMPACT_JWS.test(bearer)) return false;
    try {
      decodeProtectedHeader(bearer);
      return true;
    } catch {
      return false;
    }
  }

  /** The user and tenant a token names, or why it is refused. Never throws. */
  async verify(token: string): Promise<JwtVerdict> {
    const unverified = readUnverified(token);
    if (unverified === undefined) return refused('MALFORMED');
    const { header, claims } = unverified;
    // Only configured issuers go further: an unknown one costs no network call.
    const entry = typeof claims.iss === 'string' ? this.#byIssuer.get(claims.iss) : undefined;
    if (entry === undefined) return refused('UNKNOWN_ISSUER');
    const { provider, keys } = entry;
    // Checked here too (jose checks again) so `none` and HS* never reach the key set.
    if (typeof header.alg !== 'string' || !provider.algorithms.includes(header.alg)) return refused('ALGORITHM_REFUSED');
    // Providers name the signing key; without a `kid` the key would be a guess among the set.
    if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > MAX_KID_CHARS) return refused('MALFORMED');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: provider.issuer,
        audience: provider.audience,
        algorithms: provider.algorithms,
        clockTolerance: this.#clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      return refused(failureOf(error));
    }
    if (typeof payload.exp !== 'number') return refused('MALFORMED');
    const user = payload.sub;
    if (typeof user !== 'string' || user === '' || user.length > MAX_SUBJECT_CHARS || CONTROL_CHARACTER.test(user)) return refused('NO_SUBJECT');
    const tenant = tenantOf(provider, payload);
    if (tenant === undefined) return refused('NO_TENANT');
    return { ok: true, tenant, user, issuer: provider.issuer, expiresAt: new Date(payload.exp * 1000) };
  }
}

const refused = (failure: JwtFailure): JwtVerdict => ({ ok: false, failure });

/** The header and claims as the token states them, before anything is verified; undefined when they cannot be read. */
function readUnverified(token: string): { header: ProtectedHeaderParameters; claims: JWTPayload } | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !COMPACT_JWS.test(token)) return undefined;
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch {
    return undefined;
  }
}

/**
 * The tenant a verified token's user belongs to. A token that carries the tenant claim gets that
 * tenant only when it is one the provider may name; an unknown one is refused rather than put in the
 * default tenant, where the user was evidently not meant to be.
 */
function tenantOf(provider: JwtProvider, payload: JWTPayload): string | undefined {
  if (provider.tenantClaim !== undefined && Object.hasOwn(payload, provider.tenantClaim)) {
    const named = payload[provider.tenantClaim];
    return typeof named === 'string' && TENANT_NAME.test(named) && provider.allowedTenants?.includes(named) === true ? named : undefined;
  }
  return provider.tenant;
}

function failureOf(error: unknown): JwtFailure {
  if (error instanceof KeyLookupFailed) return error.failure;
  if (error instanceof errors.JWTExpired) return 'EXPIRED';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'NOT_YET_VALID';
    if (error.claim === 'aud') return 'BAD_AUDIENCE';
    if (error.claim === 'iss') return 'UNKNOWN_ISSUER';
    // A missing `exp`, a date that is not a number.
    return 'MALFORMED';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'BAD_SIGNATURE';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'ALGORITHM_REFUSED';
  // JWSInvalid, JWTInvalid (bad encoding, a payload that is not a JSON object, a `crit` we do not know).
  return 'MALFORMED';
}

function keyLookupFailureOf(error: unknown): KeyLookupFailure {
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'UNKNOWN_KEY';
  if (error instanceof errors.JOSENotSupported) return 'ALGORITHM_REFUSED';
  // No answer, a timeout, not 200, held back after a failure, not a key set, a key that will not import.
  return 'JWKS_UNAVAILABLE';
}

/**
 * The provider's key set, through jose's remote set: fetched on first use, kept for the cache age,
 * fetched again for an unknown `kid` at most once per cooldown.
 */
function remoteKeys(provider: JwtProvider, options: { cooldownMs: number; cacheMaxAgeMs: number; timeoutMs: number }): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(provider.jwksUrl), {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs,
    [customFetch]: flooredJwksFetch(options.cooldownMs),
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      throw new KeyLookupFailed(keyLookupFailureOf(error), { cause: error });
    }
  };
}

/**
 * The fetch jose makes for a key set, with two additions. jose's cooldown counts from the last
 * *successful* fetch, so while a provider is down or answering errors every token naming a key not in
 * the cache would reach it again; here a failed fetch holds further ones back for the same cooldown.
 * And the body is read with a size bound (under jose's timeout signal, which covers the body too).
 * jose asks with `redirect: 'manual'`, so a redirect is an answer other than 200: refused, never followed.
 */
function flooredJwksFetch(floorMs: number): FetchImplementation {
  let failedAt = Number.NEGATIVE_INFINITY;
  return async (url, init) => {
    if (Date.now() < failedAt + floorMs) throw new JwksAnswerRefused('held back: the last fetch of this key set failed moments ago');
    try {
      const response = await fetch(url, init);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new JwksAnswerRefused(`answered HTTP ${response.status}`);
      }
      const body = await readBounded(response, MAX_JWKS_BYTES);
      if (!isKeySet(body)) throw new JwksAnswerRefused('the answer is not a JSON Web Key Set');
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      failedAt = Date.now();
      throw error;
    }
  };
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new JwksAnswerRefused(`the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The shape jose requires of a key set: an object whose `keys` is a list of objects. */
function isKeySet(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== 'object') return false;
  const keys: unknown = (parsed as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((key: unknown) => key !== null && typeof key === 'object' && !Array.isArray(key));
}
