// Client keys: which tenant a presented key belongs to. Keys are compared in constant time (as
// SHA-256 digests, against every configured key) so timing reveals neither a key nor a prefix.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ClientKey {
  tenant: string;
  key: string;
}

const TENANT = /^[A-Za-z0-9_-]+$/;
const KEY = /^[^\s,]+$/;
const CLIENT_KEY_MIN_LENGTH = 16;

export type ParsedClientKeys = { ok: true; keys: ClientKey[] } | { ok: false; problem: string };

/**
 * `tenant:key` pairs, comma-separated (or one per line with `#` comments, for the file form).
 * Problems name the pair by position and tenant, never the key.
 */
export function parseClientKeys(text: string, options: { comments: boolean }): ParsedClientKeys {
  const entries = (options.comments ? text.split('\n').map((line) => line.replace(/#.*$/, '')) : [text])
    .flatMap((chunk) => chunk.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const keys: ClientKey[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const tenant = colon < 0 ? '' : entry.slice(0, colon);
    const key = colon < 0 ? '' : entry.slice(colon + 1);
    const where = `pair ${index + 1}`;
    if (!TENANT.test(tenant)) return { ok: false, problem: `${where}: expected tenant:key with a tenant of letters, digits, _ or -` };
    if (!KEY.test(key)) return { ok: false, problem: `${where} (tenant ${tenant}): the key is empty or holds white space or a comma` };
    if (key.length < CLIENT_KEY_MIN_LENGTH) {
      return { ok: false, problem: `${where} (tenant ${tenant}): the key is shorter than ${CLIENT_KEY_MIN_LENGTH} characters` };
    }
    if (seen.has(key)) return { ok: false, problem: `${where} (tenant ${tenant}): the same key appears twice` };
    seen.add(key);
    keys.push({ tenant, key });
  }
  if (keys.length === 0) return { ok: false, problem: 'holds no tenant:key pair' };
  return { ok: true, keys };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export class ClientKeyring {
  readonly #entries: { tenant: string; digest: Buffer }[];

  constructor(keys: ClientKey[]) {
    this.#entries = keys.map(({ tenant, key }) => ({ tenant, digest: digest(key) }));
  }

  /** The tenant holding this key, or undefined. Looks at every key, whatever matches. */
  tenantFor(presented: string): string | undefined {
    const presentedDigest = digest(presented);
    let tenant: string | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presentedDigest)) tenant = entry.tenant;
    }
    return tenant;
  }

  /** The tenant for an `Authorization: Bearer <key>` header value, or undefined. */
  tenantForAuthorization(header: string | undefined): string | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1] === undefined ? undefined : this.tenantFor(match[1]);
  }
}
