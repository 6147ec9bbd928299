// The identity providers whose signed-in users the gateway accepts (AUTH_JWT_PROVIDERS_FILE, a JSON
// array): per issuer, where its signing keys are published, the audience its tokens must name, the
// algorithms it may sign with and the tenant its users belong to. Parsed and checked once at start-up;
// a bad file stops the start with one line that says which provider and which field.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/**
 * Asymmetric signatures only. HMAC (HS*) is never allowed: with a published key, a token "signed"
 * with HMAC using that public key as the secret would verify (the key-confusion attack); and `none`
 * is no signature at all.
 */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * A tenant name, from the file or from a token's tenant claim. The client-key alphabet (letters,
 * digits, _ and -), bounded: task ids and limit keys join a tenant with `@` and `:` and rely on it
 * holding neither, and a token must not be able to name a tenant no client key could.
 */
export const TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface JwtProvider {
  /** The token's `iss`, compared exactly (a trailing slash counts). */
  issuer: string;
  /** Where the provider publishes its JSON Web Key Set: https, or http to a loopback host. */
  jwksUrl: string;
  /** What the token's `aud` must name (one of them, for a list). */
  audience: string | string[];
  /** The tenant of the provider's users when no tenant claim names one. */
  tenant?: string;
  /** A top-level claim that, when a token carries it, names the user's tenant (one of `allowedTenants`). */
  tenantClaim?: string;
  /** The tenants `tenantClaim` may name; required with it, so no provider can name any tenant it likes. */
  allowedTenants?: string[];
  /** The signature algorithms accepted from this provider: DEFAULT_JWT_ALGORITHMS, or fewer. */
  algorithms: string[];
}

export type ParsedJwtProviders = { ok: true; providers: JwtProvider[] } | { ok: false; problem: string };

// Printable ASCII with no white space: issuers are URLs in practice, and this keeps one in a
// problem line (or a log) from breaking it.
const PRINTABLE = /^[\x21-\x7e]+$/;
const MAX_TEXT = 2048;
const isPrintable = (value: string) => value.length <= MAX_TEXT && PRINTABLE.test(value);

function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (!ipaddr.isValid(bare)) return false;
  return ipaddr.process(bare).range() === 'loopback';
}

/**
 * https, or plain http to a loopback host only. The key set decides which tokens verify: fetched over
 * plain http across a network, anyone on the path could swap in their own key and sign in as anyone.
 * A loopback address never leaves the machine (a local identity provider, a sidecar, the tests).
 */
function isJwksUrl(value: string): boolean {
  const url = parsedUrl(value);
  if (url === undefined || url.hostname === '' || url.username !== '' || url.password !== '' || url.hash !== '' || value.includes('#')) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

const text = (what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .min(1, { error: `must not be empty (${what})` })
    .max(MAX_TEXT, { error: `must be at most ${MAX_TEXT} characters` })
    .regex(PRINTABLE, { error: 'must be printable ASCII without white space' });

const tenantName = z.string({ error: 'must be a string' }).regex(TENANT_NAME, { error: 'must be 1-64 letters, digits, _ or -' });

const algorithm = z.string({ error: 'must be a string' }).superRefine((value, context) => {
  if (DEFAULT_JWT_ALGORITHMS.includes(value)) return;
  const why = /^HS/i.test(value)
    ? `${value} is refused: HMAC would take the published public key as a shared secret`
    : value.toLowerCase() === 'none'
      ? 'none is refused: it is no signature at all'
      : `must be one of ${DEFAULT_JWT_ALGORITHMS.join(', ')}`;
  context.addIssue({ code: 'custom', message: why });
});

const providerSchema = z
  .strictObject({
    issuer: text('the token iss to accept'),
    jwksUrl: z.string({ error: 'must be a string' }).refine(isJwksUrl, {
      error: 'must be an https URL (or http to localhost, 127.0.0.0/8 or [::1]) without credentials or fragment',
    }),
    audience: z.union([text('the token aud to require'), z.array(text('an accepted aud')).min(1, { error: 'must not be an empty list' })], {
      error: 'must be a string or a non-empty list of strings',
    }),
    tenant: tenantName.optional(),
    tenantClaim: text('a claim name').optional(),
    allowedTenants: z.array(tenantName, { error: 'must be a list of tenant names' }).min(1, { error: 'must not be an empty list' }).optional(),
    algorithms: z.array(algorithm, { error: 'must be a list of algorithm names' }).min(1, { error: 'must not be an empty list' }).optional(),
  })
  .superRefine((entry, context) => {
    if (entry.tenant === undefined && entry.tenantClaim === undefined) {
      context.addIssue({ code: 'custom', path: ['tenant'], message: 'is required unless tenantClaim is given (the tenant of the provider users)' });
    }
    if (entry.tenantClaim !== undefined && entry.allowedTenants === undefined) {
      context.addIssue({ code: 'custom', path: ['allowedTenants'], message: 'is required with tenantClaim (the tenants a token may name)' });
    }
    if (entry.tenantClaim === undefined && entry.allowedTenants !== undefined) {
      context.addIssue({ code: 'custom', path: ['allowedTenants'], message: 'means nothing without tenantClaim' });
    }
  });

/** One line for the first thing wrong with an entry; names fields, never echoes a value. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => JSON.stringify(key.slice(0, 64))).join(', ');
    return `unknown field ${fields} (known: issuer, jwksUrl, audience, tenant, tenantClaim, allowedTenants, algorithms)`;
  }
  const field = issue.path.map(String).join('.');
  return field === '' ? issue.message : `${field}: ${issue.message}`;
}

/**
 * A JSON array of providers, at least one, issuers distinct. Problems name the provider by position
 * (and by issuer once that is known to be printable) and the field; they never quote the file.
 */
export function parseJwtProviders(source: string): ParsedJwtProviders {
  let document: unknown;
  try {
    document = JSON.parse(source);
  } catch {
    return { ok: false, problem: 'is not valid JSON' };
  }
  if (!Array.isArray(document)) return { ok: false, problem: 'must hold a JSON array of providers ({ issuer, jwksUrl, audience, tenant, ... })' };
  if (document.length === 0) return { ok: false, problem: 'holds no provider' };
  const providers: JwtProvider[] = [];
  const positionOfIssuer = new Map<string, number>();
  for (const [index, entry] of document.entries()) {
    const where = `provider ${index + 1}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return { ok: false, problem: `${where}: must be a JSON object` };
    const issuer: unknown = (entry as { issuer?: unknown }).issuer;
    const named = typeof issuer === 'string' && isPrintable(issuer) ? `${where} (issuer ${issuer})` : where;
    const parsed = providerSchema.safeParse(entry);
    if (!parsed.success) return { ok: false, problem: `${named}: ${describeIssue(parsed.error.issues[0] as z.core.$ZodIssue)}` };
    const first = positionOfIssuer.get(parsed.data.issuer);
    if (first !== undefined) return { ok: false, problem: `${named}: the same issuer as provider ${first}` };
    positionOfIssuer.set(parsed.data.issuer, index + 1);
    const { algorithms, ...rest } = parsed.data;
    providers.push({ ...rest, algorithms: algorithms === undefined ? [...DEFAULT_JWT_ALGORITHMS] : [...new Set(algorithms)] });
  }
  return { ok: true, providers };
}
