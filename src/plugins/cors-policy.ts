// The one CORS rule, for Yoga's answers and for the errors the HTTP layer writes itself: an origin
// is allowed when it is listed, or when no list is configured (development). An empty list allows
// none. The gateway holds no cookies, so credentials are never allowed.

/** The origin to echo in Access-Control-Allow-Origin, or undefined when it is not allowed. */
export function allowedOrigin(origin: string | null | undefined, allowed: readonly string[] | undefined): string | undefined {
  if (origin === undefined || origin === null) return undefined;
  if (allowed === undefined || allowed.includes(origin)) return origin;
  return undefined;
}

/** Headers a cross-origin client may read besides the simple ones. */
export const EXPOSED_HEADERS = ['x-request-id'];
