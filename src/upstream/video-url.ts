// Which video links from the upstream may be handed to clients. A link is rendered by browsers and
// fetched by servers, so only `https:` (any host: signed CDN URLs) or an origin trusted by name pass:
// the upstream's own, and with the embedded simulator the gateway's public origin, where that
// simulator's plain-http videos are served. `javascript:`, `data:`, plain-http hosts such as cloud
// metadata addresses, and anything unparseable are refused.

export type VideoUrlVerdict =
  | { ok: true }
  /**
   * Refused. Only the scheme and host are kept, for logs: the rest of a signed URL carries tokens.
   * Both are null when the text is not a URL at all.
   */
  | { ok: false; scheme: string | null; host: string | null; why: string };

// DNS names are at most 253 characters; anything longer is junk not worth a log line.
const MAX_LOGGED_HOST_CHARS = 253;

/** `trustedOrigins`: origins (scheme://host[:port]) whose plain-http links pass, e.g. the upstream base URL's. */
export function checkVideoUrl(raw: string, trustedOrigins: readonly string[]): VideoUrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, scheme: null, host: null, why: 'not a URL' };
  }
  const scheme = url.protocol;
  const host = url.host.slice(0, MAX_LOGGED_HOST_CHARS);
  // The URL parser strips or skips these, but a client that renders the raw text might not: a link
  // that only looks like https after cleaning is not passed on.
  if (/[\s\p{Cc}]/u.test(raw)) return { ok: false, scheme, host, why: 'white space or control characters' };
  if (scheme === 'https:' && url.hostname !== '') return { ok: true };
  if (trustedOrigins.includes(url.origin)) return { ok: true };
  return { ok: false, scheme, host, why: 'neither https nor a trusted origin' };
}
