// An identity provider's key publication for the JWT tests: a node:http server on loopback serving
// /.well-known/jwks.json from signing keys generated for this run (one RS256 and one ES256 key at a
// time), able to rotate them, to mint tokens with them, to count the requests it gets, and to go down
// in the ways a provider does (an error status, a dropped connection, no answer at all).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type TestKeyAlgorithm = 'RS256' | 'ES256';
export const JWKS_PATH = '/.well-known/jwks.json';

/** How the server behaves while down: answer 503, drop the connection, or never answer. */
export type OutageKind = 'status' | 'reset' | 'stall';

export interface TokenOptions {
  /** Which of the current keys signs. Default RS256. */
  alg?: TestKeyAlgorithm;
  /** The `kid` written in the header instead of the signing key's own (a key the set does not hold). */
  kid?: string;
}

export interface JwksServer {
  /** The JWKS URL (http://127.0.0.1:<port>/.well-known/jwks.json). */
  readonly url: string;
  /** The `iss` of the tokens it mints: its origin with a trailing slash, as Auth0 writes it. */
  readonly issuer: string;
  /** The `aud` of the tokens it mints unless told otherwise. */
  readonly audience: string;
  /** Every request received, on any path, whether it was answered or not. */
  readonly requests: number;
  /** The `kid` of the current key for an algorithm. */
  currentKid(alg?: TestKeyAlgorithm): string;
  /** The public half of the current key, as the key set publishes it. */
  publicJwk(alg?: TestKeyAlgorithm): JWK;
  /** The public half of the current key as SPKI PEM (what a key-confusion attacker would use as an HMAC secret). */
  publicPem(alg?: TestKeyAlgorithm): string;
  /**
   * New current keys for both algorithms. With `keepPrevious` the old ones stay published (a
   * provider's overlap period); without, they are gone from the set at once.
   */
  rotate(options?: { keepPrevious?: boolean }): Promise<void>;
  /**
   * A token signed with a current key. Claims default to iss, aud, sub 'user-1', iat now and exp in
   * five minutes; a claim given as undefined is left out. Any claim of any type, wrong ones included.
   */
  sign(claims?: Record<string, unknown>, options?: TokenOptions): Promise<string>;
  setDown(down: boolean, kind?: OutageKind): void;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  alg: TestKeyAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

const ALGORITHMS: readonly TestKeyAlgorithm[] = ['RS256', 'ES256'];

async function newSigningKey(alg: TestKeyAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('base64url')}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

export async function startJwksServer(options: { audience?: string } = {}): Promise<JwksServer> {
  let current = new Map<TestKeyAlgorithm, SigningKey>();
  for (const alg of ALGORITHMS) current.set(alg, await newSigningKey(alg));
  let published: SigningKey[] = [...current.values()];
  let requests = 0;
  let outage: OutageKind | undefined;

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    if (outage === 'stall') return;
    if (outage === 'reset') {
      request.socket.destroy();
      return;
    }
    if (outage === 'status') {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    if (request.method !== 'GET' || request.url !== JWKS_PATH) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((key) => key.publicJwk) }));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/`;
  const audience = options.audience ?? 'https://gateway.test/api';

  const keyFor = (alg: TestKeyAlgorithm = 'RS256'): SigningKey => {
    const key = current.get(alg);
    if (!key) throw new Error(`no current ${alg} key`);
    return key;
  };

  return {
    url: `${origin}${JWKS_PATH}`,
    issuer,
    audience,
    get requests() {
      return requests;
    },
    currentKid: (alg) => keyFor(alg).kid,
    publicJwk: (alg) => keyFor(alg).publicJwk,
    publicPem: (alg) => keyFor(alg).publicPem,
    async rotate({ keepPrevious = false } = {}) {
      const next = new Map<TestKeyAlgorithm, SigningKey>();
      for (const alg of ALGORITHMS) next.set(alg, await newSigningKey(alg));
      published = keepPrevious ? [...next.values(), ...published] : [...next.values()];
      current = next;
    },
    async sign(claims = {}, tokenOptions = {}) {
      const key = keyFor(tokenOptions.alg);
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 300, ...claims };
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: tokenOptions.kid ?? key.kid }).sign(key.privateKey);
    },
    setDown(down, kind = 'status') {
      outage = down ? kind : undefined;
    },
    async close() {
      // A stalled request holds its connection open; close() would wait for it forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
