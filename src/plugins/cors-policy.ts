// The one CORS rule, for Yoga's answers, for the errors the HTTP layer writes itself and for
// WebSocket upgrades: an origin is allowed when it is listed. With no list configured
// (development), only loopback origins are: a frontend on localhost works out of the box, while a
// page on some other site cannot drive a developer's local gateway (and spend its upstream credit).
// An empty list allows none. The gateway holds no cookies, so credentials are never allowed.

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether an origin such as http://localhost:5173 is served from this machine. */
function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** The origin to echo in Access-Control-Allow-Origin, or undefined when it is not allowed. */
export function allowedOrigin(origin: string | null | undefined, allowed: readonly string[] | undefined): string | undefined {
  if (origin === undefined || origin === null) return undefined;
  if (allowed === undefined ? isLoopbackOrigin(origin) : allowed.includes(origin)) return origin;
  return undefined;
}

/** Headers a cross-origin client may read besides the simple ones. */
export const EXPOSED_HEADERS = ['x-request-id'];
