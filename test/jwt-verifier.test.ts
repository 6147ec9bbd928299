// Signed-in users' tokens: the providers file, and verification against a real JWKS server on
// loopback with keys generated for this run (and rotated during it). JWKS traffic is observed by
// counting the requests that server receives.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { DEFAULT_JWT_ALGORITHMS, parseJwtProviders, type JwtProvider } from '../src/auth/jwt-providers.js';
import { JwtVerifier, type JwtVerdict, type JwtVerifierOptions } from '../src/auth/jwt-verifier.js';
import { startJwksServer, type JwksServer } from './support/jwks-server.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Freezes Date (only Date: sockets and timeouts keep real time) for cooldown and cache-age tests, so
 * they do not depend on how long key generation or a loaded machine takes.
 */
function stopTheClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  onTestFinished(() => {
    vi.useRealTimers();
  });
}
const advanceTheClock = (ms: number) => vi.setSystemTime(Date.now() + ms);
const failureOf = (verdict: JwtVerdict) => (verdict.ok ? 'ok' : verdict.failure);

function providerFor(server: JwksServer, overrides: Partial<JwtProvider> = {}): JwtProvider {
  return { issuer: server.issuer, jwksUrl: server.url, audience: server.audience, tenant: 'acme', algorithms: [...DEFAULT_JWT_ALGORITHMS], ...overrides };
}

function verifierFor(server: JwksServer, options: JwtVerifierOptions = {}, overrides: Partial<JwtProvider> = {}): JwtVerifier {
  return new JwtVerifier([providerFor(server, overrides)], options);
}

/** A server of its own, for a test that rotates its keys or takes it down. */
async function ownServer(): Promise<JwksServer> {
  const server = await startJwksServer();
  onTestFinished(() => server.close());
  return server;
}

/** A token with its payload swapped for other claims, the header and signature left as they were. */
function withPayload(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

const decodedPayload = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));

const randomKid = () => `kid-${Math.random().toString(36).slice(2)}`;

describe('parseJwtProviders', () => {
  const entry = {
    issuer: 'https://example.eu.auth0.com/',
    jwksUrl: 'https://example.eu.auth0.com/.well-known/jwks.json',
    audience: 'https://videos.example.com/api',
    tenant: 'acme',
  };
  const file = (...entries: unknown[]) => JSON.stringify(entries);

  it('accepts providers, fills in the default algorithms and keeps a narrower list', () => {
    const parsed = parseJwtProviders(
      file(entry, {
        issuer: 'https://clerk.example.com',
        jwksUrl: 'http://127.0.0.1:9999/jwks',
        audience: ['web', 'mobile'],
        tenantClaim: 'org_id',
        allowedTenants: ['acme', 'globex'],
        algorithms: ['ES256', 'ES256', 'EdDSA'],
      }),
    );
    expect(parsed).toStrictEqual({
      ok: true,
      providers: [
        { ...entry, algorithms: [...DEFAULT_JWT_ALGORITHMS] },
        {
          issuer: 'https://clerk.example.com',
          jwksUrl: 'http://127.0.0.1:9999/jwks',
          audience: ['web', 'mobile'],
          tenantClaim: 'org_id',
          allowedTenants: ['acme', 'globex'],
          algorithms: ['ES256', 'EdDSA'],
        },
      ],
    });
    expect(DEFAULT_JWT_ALGORITHMS.some((alg) => alg.startsWith('HS') || alg === 'none')).toBe(false);
  });

  it.each(['http://localhost:8080/jwks', 'http://127.0.0.53/jwks', 'http://[::1]:8080/jwks'])('accepts plain http to the loopback host of %s', (jwksUrl) => {
    expect(parseJwtProviders(file({ ...entry, jwksUrl })).ok).toBe(true);
  });

  const refusals: [string, string, string][] = [
    ['text that is not JSON', '[{"issuer": ', 'is not valid JSON'],
    ['an object instead of a list', JSON.stringify(entry), 'must hold a JSON array of providers'],
    ['an empty list', '[]', 'holds no provider'],
    ['an entry that is not an object', file(entry, 'https://x/'), 'provider 2: must be a JSON object'],
    ['an unknown field', file({ ...entry, audiences: ['x'] }), 'provider 1 (issuer https://example.eu.auth0.com/): unknown field "audiences"'],
    ['a missing issuer', file({ ...entry, issuer: undefined }), 'provider 1: issuer: must be a string'],
    ['an issuer with white space', file({ ...entry, issuer: 'https://a b/' }), 'provider 1: issuer: must be printable ASCII without white space'],
    [
      'two providers with one issuer',
      file(entry, { ...entry, tenant: 'globex' }),
      'provider 2 (issuer https://example.eu.auth0.com/): the same issuer as provider 1',
    ],
    ['a JWKS URL that is not http(s)', file({ ...entry, jwksUrl: 'ftp://example.com/jwks' }), 'jwksUrl: must be an https URL'],
    ['plain http to a host off the machine', file({ ...entry, jwksUrl: 'http://example.eu.auth0.com/.well-known/jwks.json' }), 'jwksUrl: must be an https URL'],
    ['plain http to a private address', file({ ...entry, jwksUrl: 'http://10.0.0.5/jwks' }), 'jwksUrl: must be an https URL'],
    ['a JWKS URL with a fragment', file({ ...entry, jwksUrl: 'https://example.com/jwks#keys' }), 'jwksUrl: must be an https URL'],
    ['a missing audience', file({ ...entry, audience: undefined }), 'audience: must be a string or a non-empty list of strings'],
    ['an empty audience list', file({ ...entry, audience: [] }), 'audience: must not be an empty list'],
    [
      'HS256 in the algorithms',
      file({ ...entry, algorithms: ['RS256', 'HS256'] }),
      'algorithms.1: HS256 is refused: HMAC would take the published public key as a shared secret',
    ],
    ['none in the algorithms', file({ ...entry, algorithms: ['none'] }), 'algorithms.0: none is refused'],
    ['an unknown algorithm', file({ ...entry, algorithms: ['RS1'] }), 'algorithms.0: must be one of RS256'],
    ['an empty algorithm list', file({ ...entry, algorithms: [] }), 'algorithms: must not be an empty list'],
    ['neither tenant nor tenantClaim', file({ ...entry, tenant: undefined }), 'tenant: is required unless tenantClaim is given'],
    ['a tenant claim with no allowed tenants', file({ ...entry, tenantClaim: 'org_id' }), 'allowedTenants: is required with tenantClaim'],
    ['allowed tenants with no tenant claim', file({ ...entry, allowedTenants: ['acme'] }), 'allowedTenants: means nothing without tenantClaim'],
    ['a tenant outside the tenant alphabet', file({ ...entry, tenant: 'acme:eu' }), 'tenant: must be 1-64 letters, digits, _ or -'],
    ['an allowed tenant of dots', file({ ...entry, tenantClaim: 'org', allowedTenants: ['..'] }), 'allowedTenants.0: must be 1-64 letters, digits, _ or -'],
  ];
  it.each(refusals)('refuses %s with one line', (_name, text, expected) => {
    const parsed = parseJwtProviders(text);
    expect(parsed.ok).toBe(false);
    const problem = parsed.ok ? '' : parsed.problem;
    expect(problem).toContain(expected);
    expect(problem).not.toMatch(/[\r\n]/);
  });

  it('never quotes a JWKS URL it refuses (it may hold credentials)', () => {
    const parsed = parseJwtProviders(file({ ...entry, jwksUrl: 'https://user:hunter2-secret@example.com/jwks' }));
    expect(parsed).toStrictEqual({ ok: false, problem: expect.stringContaining('jwksUrl: must be an https URL') });
    expect(JSON.stringify(parsed)).not.toContain('hunter2-secret');
  });
});

describe('JwtVerifier', () => {
  let shared: JwksServer;
  beforeAll(async () => {
    shared = await startJwksServer();
  });
  afterAll(async () => {
    await shared?.close();
  });

  it('tells a JWT from a client key by its shape', async () => {
    const token = await shared.sign();
    expect(JwtVerifier.looksLikeJwt(token)).toBe(true);
    expect(JwtVerifier.looksLikeJwt(`eyJhbGciOiJub25lIn0.${base64url.encode('{"sub":"x"}')}.`)).toBe(true);
    expect(JwtVerifier.looksLikeJwt('acme-client-key-0123456789')).toBe(false);
    expect(JwtVerifier.looksLikeJwt('abc.def.ghi')).toBe(false);
    expect(JwtVerifier.looksLikeJwt(`${token}.more.parts`)).toBe(false);
    expect(JwtVerifier.looksLikeJwt(`${token} `)).toBe(false);
    expect(JwtVerifier.looksLikeJwt('')).toBe(false);
  });

  it('verifies RS256 and ES256 tokens to the user and tenant, fetching the key set once', async () => {
    const verifier = verifierFor(shared);
    const before = shared.requests;
    const exp = nowSeconds() + 120;
    expect(await verifier.verify(await shared.sign({ sub: 'auth0|u-42', exp }))).toStrictEqual({
      ok: true,
      tenant: 'acme',
      user: 'auth0|u-42',
      issuer: shared.issuer,
      expiresAt: new Date(exp * 1000),
    });
    expect(await verifier.verify(await shared.sign({ sub: 'user_2abc' }, { alg: 'ES256' }))).toMatchObject({ ok: true, tenant: 'acme', user: 'user_2abc' });
    expect(shared.requests - before).toBe(1);
  });

  it('accepts any audience of a list, and refuses a token for another audience', async () => {
    const verifier = verifierFor(shared, {}, { audience: ['https://other.example/api', shared.audience] });
    expect((await verifier.verify(await shared.sign())).ok).toBe(true);
    expect(await verifier.verify(await shared.sign({ aud: 'https://other.example/api' }))).toMatchObject({ ok: true });
    expect(await verifier.verify(await shared.sign({ aud: 'https://billing.example/api' }))).toStrictEqual({ ok: false, failure: 'BAD_AUDIENCE' });
    expect(await verifier.verify(await shared.sign({ aud: undefined }))).toStrictEqual({ ok: false, failure: 'BAD_AUDIENCE' });
  });

  it('takes the tenant from the tenant claim when the token carries one the provider may name', async () => {
    const verifier = verifierFor(shared, {}, { tenant: 'members', tenantClaim: 'org_id', allowedTenants: ['acme', 'globex'] });
    expect(await verifier.verify(await shared.sign({ org_id: 'globex' }))).toMatchObject({ ok: true, tenant: 'globex', user: 'user-1' });
    expect(await verifier.verify(await shared.sign())).toMatchObject({ ok: true, tenant: 'members' });
    // A named tenant the provider may not name is refused, not put in the default tenant.
    for (const orgId of ['initech', '../acme', 'acme:eu', '', 42, null, ['acme']]) {
      expect(await verifier.verify(await shared.sign({ org_id: orgId }))).toStrictEqual({ ok: false, failure: 'NO_TENANT' });
    }
    const claimOnly = verifierFor(shared, {}, { tenant: undefined, tenantClaim: 'org_id', allowedTenants: ['acme'] });
    expect(await claimOnly.verify(await shared.sign({ org_id: 'acme' }))).toMatchObject({ ok: true, tenant: 'acme' });
    expect(await claimOnly.verify(await shared.sign())).toStrictEqual({ ok: false, failure: 'NO_TENANT' });
  });

  it('refuses an expired token beyond the clock tolerance and accepts one within it', async () => {
    const verifier = verifierFor(shared, { clockToleranceSeconds: 30 });
    expect(await verifier.verify(await shared.sign({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 }))).toStrictEqual({ ok: false, failure: 'EXPIRED' });
    const justExpired = nowSeconds() - 10;
    expect(await verifier.verify(await shared.sign({ iat: nowSeconds() - 600, exp: justExpired }))).toStrictEqual({
      ok: true,
      tenant: 'acme',
      user: 'user-1',
      issuer: shared.issuer,
      expiresAt: new Date(justExpired * 1000),
    });
    // Without tolerance the same token is refused.
    const strict = verifierFor(shared, { clockToleranceSeconds: 0 });
    expect(await strict.verify(await shared.sign({ exp: justExpired }))).toStrictEqual({ ok: false, failure: 'EXPIRED' });
  });

  it('refuses a token not valid yet (nbf) beyond the tolerance', async () => {
    const verifier = verifierFor(shared);
    expect(await verifier.verify(await shared.sign({ nbf: nowSeconds() + 120 }))).toStrictEqual({ ok: false, failure: 'NOT_YET_VALID' });
    expect((await verifier.verify(await shared.sign({ nbf: nowSeconds() + 10 }))).ok).toBe(true);
  });

  it('refuses an unknown issuer without asking any key set', async () => {
    const verifier = verifierFor(shared);
    const before = shared.requests;
    expect(await verifier.verify(await shared.sign({ iss: 'https://evil.example/' }))).toStrictEqual({ ok: false, failure: 'UNKNOWN_ISSUER' });
    expect(await verifier.verify(await shared.sign({ iss: undefined }))).toStrictEqual({ ok: false, failure: 'UNKNOWN_ISSUER' });
    expect(await verifier.verify(await shared.sign({ iss: shared.issuer.slice(0, -1) }))).toStrictEqual({ ok: false, failure: 'UNKNOWN_ISSUER' });
    expect(shared.requests).toBe(before);
  });

  it('refuses a tampered payload, a tampered signature and a stranger key claiming a published kid', async () => {
    const verifier = verifierFor(shared);
    const token = await shared.sign({ sub: 'user-1' });
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(await verifier.verify(withPayload(token, { ...decodedPayload(token), sub: 'admin' }))).toStrictEqual({ ok: false, failure: 'BAD_SIGNATURE' });
    const [header, payload, signature = ''] = token.split('.');
    const flipped = `${signature.slice(0, 20)}${signature[20] === 'A' ? 'B' : 'A'}${signature.slice(21)}`;
    expect(await verifier.verify(`${header}.${payload}.${flipped}`)).toStrictEqual({ ok: false, failure: 'BAD_SIGNATURE' });

    const stranger = await generateKeyPair('RS256');
    const forged = await new SignJWT({ iss: shared.issuer, aud: shared.audience, sub: 'admin', exp: nowSeconds() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: shared.currentKid('RS256') })
      .sign(stranger.privateKey);
    expect(await verifier.verify(forged)).toStrictEqual({ ok: false, failure: 'BAD_SIGNATURE' });
  });

  it('refuses alg none without asking the key set', async () => {
    const verifier = verifierFor(shared);
    const before = shared.requests;
    const claims = base64url.encode(JSON.stringify({ iss: shared.issuer, aud: shared.audience, sub: 'admin', exp: nowSeconds() + 60 }));
    expect(await verifier.verify(`eyJhbGciOiJub25lIn0.${claims}.`)).toStrictEqual({ ok: false, failure: 'ALGORITHM_REFUSED' });
    const noneWithKid = base64url.encode(JSON.stringify({ alg: 'none', kid: shared.currentKid() }));
    expect(await verifier.verify(`${noneWithKid}.${claims}.`)).toStrictEqual({ ok: false, failure: 'ALGORITHM_REFUSED' });
    expect(shared.requests).toBe(before);
  });

  it('refuses HS256 signed with the public key as the HMAC secret (key confusion)', async () => {
    const verifier = verifierFor(shared);
    expect((await verifier.verify(await shared.sign())).ok).toBe(true);
    const claims = { iss: shared.issuer, aud: shared.audience, sub: 'admin', exp: nowSeconds() + 60 };
    const secrets = [shared.publicPem('RS256'), JSON.stringify(shared.publicJwk('RS256')), shared.publicJwk('RS256').n ?? ''];
    for (const secret of secrets) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: shared.currentKid('RS256') }).sign(new TextEncoder().encode(secret));
      expect(await verifier.verify(token)).toStrictEqual({ ok: false, failure: 'ALGORITHM_REFUSED' });
    }
  });

  it('refuses an algorithm outside the provider’s narrower list', async () => {
    const verifier = verifierFor(shared, {}, { algorithms: ['ES256'] });
    const before = shared.requests;
    expect(await verifier.verify(await shared.sign({}, { alg: 'RS256' }))).toStrictEqual({ ok: false, failure: 'ALGORITHM_REFUSED' });
    expect(shared.requests).toBe(before);
    expect((await verifier.verify(await shared.sign({}, { alg: 'ES256' }))).ok).toBe(true);
  });

  it('refuses a token without a usable subject', async () => {
    const verifier = verifierFor(shared);
    for (const sub of [undefined, '', 42, 'x'.repeat(256), 'line\nbreak']) {
      expect(await verifier.verify(await shared.sign({ sub }))).toStrictEqual({ ok: false, failure: 'NO_SUBJECT' });
    }
  });

  it('refuses malformed tokens (and never throws)', async () => {
    const verifier = verifierFor(shared);
    const token = await shared.sign();
    const [header, payload] = token.split('.');
    const malformed = [
      'not-a-jwt',
      'abc.def.ghi',
      `${header}.${base64url.encode('not json')}.c2ln`,
      `${header}.${base64url.encode('[1,2]')}.c2ln`,
      `${header}.${payload}`,
      `${header}.${payload}.c2ln.more.parts`,
      `${header}.${payload}.sig+nature`,
      await shared.sign({ padding: 'x'.repeat(20_000) }),
      await shared.sign({}, { kid: '' }),
      undefined as unknown as string,
      42 as unknown as string,
    ];
    for (const candidate of malformed) {
      expect(await verifier.verify(candidate)).toStrictEqual({ ok: false, failure: 'MALFORMED' });
    }
    // Only after its signature holds is a token without an expiry judged.
    expect(await verifier.verify(await shared.sign({ exp: undefined }))).toStrictEqual({ ok: false, failure: 'MALFORMED' });
    expect(await verifier.verify(await shared.sign({ exp: 'tomorrow' }))).toStrictEqual({ ok: false, failure: 'MALFORMED' });
  });

  it('keeps each provider’s keys to its own issuer', async () => {
    const other = await ownServer();
    const verifier = new JwtVerifier([providerFor(shared, { tenant: 'alpha' }), providerFor(other, { tenant: 'beta' })]);
    expect(await verifier.verify(await shared.sign())).toMatchObject({ ok: true, tenant: 'alpha' });
    expect(await verifier.verify(await other.sign())).toMatchObject({ ok: true, tenant: 'beta' });
    // The other provider's key, claiming the first issuer: its kid is not in the first set.
    expect(await verifier.verify(await other.sign({ iss: shared.issuer, aud: shared.audience }))).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    expect(other.requests).toBe(1);
  });

  it('verifies tokens of a rotated key, fetching the key set again for the new kid', async () => {
    const server = await ownServer();
    const verifier = verifierFor(server, { jwksCooldownMs: 0 });
    const beforeRotation = await server.sign({ sub: 'old' });
    expect(await verifier.verify(beforeRotation)).toMatchObject({ ok: true, user: 'old' });
    expect(server.requests).toBe(1);

    await server.rotate();
    const afterRotation = await server.sign({ sub: 'new' });
    expect(await verifier.verify(afterRotation)).toMatchObject({ ok: true, user: 'new' });
    expect(server.requests).toBe(2);
    expect((await verifier.verify(await server.sign({ sub: 'new-es' }, { alg: 'ES256' }))).ok).toBe(true);
    expect(server.requests).toBe(2);
    // The old key left the set: its tokens are refused now (one more fetch looks for the kid).
    expect(await verifier.verify(beforeRotation)).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    expect(server.requests).toBe(3);
  });

  it('keeps accepting the previous key while the provider still publishes it', async () => {
    const server = await ownServer();
    const verifier = verifierFor(server, { jwksCooldownMs: 0 });
    const beforeRotation = await server.sign({ sub: 'old' });
    expect((await verifier.verify(beforeRotation)).ok).toBe(true);
    await server.rotate({ keepPrevious: true });
    expect((await verifier.verify(await server.sign({ sub: 'new' }))).ok).toBe(true);
    expect((await verifier.verify(beforeRotation)).ok).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('waits out the cooldown before fetching again for a rotated key', async () => {
    const server = await ownServer();
    stopTheClock();
    const verifier = verifierFor(server, { jwksCooldownMs: 30_000 });
    expect((await verifier.verify(await server.sign())).ok).toBe(true);
    await server.rotate();
    const rotated = await server.sign();
    // Within the cooldown the new kid is unknown and costs no fetch; after it, one fetch finds it.
    advanceTheClock(29_000);
    expect(await verifier.verify(rotated)).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    expect(server.requests).toBe(1);
    advanceTheClock(1_001);
    expect(await verifier.verify(rotated)).toMatchObject({ ok: true });
    expect(server.requests).toBe(2);
  });

  it('lets a flood of unknown kids cost the provider one fetch at most', async () => {
    const server = await ownServer();
    const verifier = verifierFor(server, { jwksCooldownMs: 30_000 });
    const flood = await Promise.all(Array.from({ length: 50 }, () => server.sign({}, { kid: randomKid() })));
    // From cold: the 50 share the first load of the set and find their kid missing.
    const verdicts = await Promise.all(flood.map((token) => verifier.verify(token)));
    expect(new Set(verdicts.map(failureOf))).toStrictEqual(new Set(['UNKNOWN_KEY']));
    expect(server.requests).toBe(1);
    for (const token of flood) expect(await verifier.verify(token)).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    expect(server.requests).toBe(1);
    expect((await verifier.verify(await server.sign())).ok).toBe(true);
    expect(server.requests).toBe(1);
  });

  it('after the cooldown, a flood of unknown kids brings exactly one fetch', async () => {
    const server = await ownServer();
    stopTheClock();
    const verifier = verifierFor(server, { jwksCooldownMs: 30_000 });
    expect((await verifier.verify(await server.sign())).ok).toBe(true);
    expect(server.requests).toBe(1);
    const flood = await Promise.all(Array.from({ length: 50 }, () => server.sign({}, { kid: randomKid() })));
    advanceTheClock(30_001);
    expect(new Set((await Promise.all(flood.map((token) => verifier.verify(token)))).map(failureOf))).toStrictEqual(new Set(['UNKNOWN_KEY']));
    expect(server.requests).toBe(2);
    // And the ones that follow, inside the new cooldown, cost nothing.
    for (const token of flood) expect(await verifier.verify(token)).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    expect(server.requests).toBe(2);
  });

  it('without a cooldown every unknown kid would reach the provider (what the floor prevents)', async () => {
    const server = await ownServer();
    const verifier = verifierFor(server, { jwksCooldownMs: 0 });
    expect((await verifier.verify(await server.sign())).ok).toBe(true);
    for (let index = 0; index < 10; index += 1) {
      expect(await verifier.verify(await server.sign({}, { kid: randomKid() }))).toStrictEqual({ ok: false, failure: 'UNKNOWN_KEY' });
    }
    expect(server.requests).toBe(11);
  });

  it('fetches the set again once the cache age has passed', async () => {
    const server = await ownServer();
    stopTheClock();
    const verifier = verifierFor(server, { jwksCacheMaxAgeMs: 600_000 });
    const token = await server.sign({ exp: nowSeconds() + 3600 });
    expect((await verifier.verify(token)).ok).toBe(true);
    advanceTheClock(599_000);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(server.requests).toBe(1);
    advanceTheClock(1_001);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(server.requests).toBe(2);
  });

  it.each([
    ['answers 503', 'status'],
    ['drops the connection', 'reset'],
    ['never answers (timeout)', 'stall'],
  ] as const)('reports JWKS_UNAVAILABLE when the provider %s', async (_name, kind) => {
    const server = await ownServer();
    server.setDown(true, kind);
    const verifier = verifierFor(server, { jwksCooldownMs: 0, jwksTimeoutMs: 300 });
    expect(await verifier.verify(await server.sign())).toStrictEqual({ ok: false, failure: 'JWKS_UNAVAILABLE' });
    expect(server.requests).toBe(1);
  });

  it('still verifies tokens of cached keys while the provider is down', async () => {
    const server = await ownServer();
    const verifier = verifierFor(server, { jwksCooldownMs: 0 });
    expect((await verifier.verify(await server.sign())).ok).toBe(true);
    server.setDown(true);
    expect(await verifier.verify(await server.sign({ sub: 'during-outage' }))).toMatchObject({ ok: true, user: 'during-outage' });
    expect(server.requests).toBe(1);
    // A kid the cache lacks needs the provider: unavailable, not unknown.
    expect(await verifier.verify(await server.sign({}, { kid: randomKid() }))).toStrictEqual({ ok: false, failure: 'JWKS_UNAVAILABLE' });
    expect(server.requests).toBe(2);
  });

  it('holds fetches back for the cooldown after a failed one, so an outage is not hammered', async () => {
    const server = await ownServer();
    server.setDown(true);
    const verifier = verifierFor(server, { jwksCooldownMs: 30_000 });
    for (let index = 0; index < 20; index += 1) {
      expect(await verifier.verify(await server.sign())).toStrictEqual({ ok: false, failure: 'JWKS_UNAVAILABLE' });
    }
    expect(server.requests).toBe(1);
    // The price: recovery waits for the cooldown too.
    server.setDown(false);
    expect(await verifier.verify(await server.sign())).toStrictEqual({ ok: false, failure: 'JWKS_UNAVAILABLE' });
    expect(server.requests).toBe(1);
  });

  it('does not follow a redirect from the JWKS URL', async () => {
    const server = await ownServer();
    let redirects = 0;
    const redirector = createServer((_request, response) => {
      redirects += 1;
      response.writeHead(302, { location: server.url }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', () => resolve()));
    onTestFinished(() => new Promise<void>((resolve) => redirector.close(() => resolve())));
    const jwksUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/.well-known/jwks.json`;
    const verifier = verifierFor(server, { jwksCooldownMs: 0 }, { jwksUrl });
    expect(await verifier.verify(await server.sign())).toStrictEqual({ ok: false, failure: 'JWKS_UNAVAILABLE' });
    expect(redirects).toBe(1);
    expect(server.requests).toBe(0);
  });
});
