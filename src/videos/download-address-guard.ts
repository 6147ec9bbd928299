// Which addresses the video downloader may connect to: public unicast ones only. A video link comes
// from the upstream's answer, so without this a crafted link could make the gateway fetch from its
// own loopback, the private network or a cloud metadata service (169.254.169.254) and store the
// answer as a "video". The check runs inside the socket's own DNS lookup, so the address judged is
// the address connected to: a name that resolves to a public address when checked and to a private
// one when connecting (DNS rebinding) has no gap to slip through.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The `code` of the Error the guarded lookup fails with. */
export const ADDRESS_REFUSED_CODE = 'VIDEO_ADDRESS_REFUSED';

/**
 * True for an address on the public internet: ipaddr.js ranks it `unicast`. Loopback, private,
 * link-local, unique-local, unspecified, carrier-grade NAT, multicast, broadcast, reserved and the
 * tunnelling/translation prefixes (6to4, Teredo, NAT64…) are refused, as is anything that is not an
 * IP address. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged as the IPv4 it carries.
 */
export function isPublicAddress(address: string): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped IPv6 address into its IPv4 form, so its range is the IPv4's.
    parsed = ipaddr.process(address);
  } catch {
    return false;
  }
  return parsed.range() === 'unicast';
}

/** The Error the guarded lookup fails with; it names the host and the address, nothing more. */
export function addressRefusedError(hostname: string, address: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`refused to connect to ${hostname}: ${address} is not a public address`);
  error.code = ADDRESS_REFUSED_CODE;
  return error;
}

/**
 * A `lookup` for `net.connect` / undici's `connect.lookup`: `dns.lookup` with `all: true`, then the
 * whole answer refused when any address in it is not public.
 *
 * Refused rather than filtered down to the public addresses: a name that mixes public and private
 * answers is either misconfigured or a rebinding attempt, and a filtered answer would make which
 * address gets used depend on resolver order. Refusing is simpler to reason about and a CDN's names
 * resolve to public addresses only.
 *
 * The callback takes the shape the caller asked for: an array of `{ address, family }` when
 * `options.all` is true (Node's connect asks for that when it tries address families in turn),
 * otherwise the first address and its family.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const wantsAll = options.all === true;
  const allOptions: LookupOptions & { all: true } = { ...options, all: true };
  dnsLookup(hostname, allOptions, (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, wantsAll ? [] : '', undefined);
      return;
    }
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      callback(addressRefusedError(hostname, refused.address), wantsAll ? [] : '', undefined);
      return;
    }
    if (wantsAll) {
      callback(null, addresses);
      return;
    }
    const first = addresses[0];
    if (!first) {
      // dns.lookup reports ENOTFOUND rather than an empty answer; kept so the shape is always valid.
      const empty: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
      empty.code = 'ENOTFOUND';
      callback(empty, '', undefined);
      return;
    }
    callback(null, first.address, first.family);
  });
};
