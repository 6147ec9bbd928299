// Which route a request line names, decided once, on the exact path. Nothing downstream sees the
// raw request line again: Yoga is handed a URL built from the route chosen here, so a spelling
// that Yoga (or anyone) would normalise — `/graphql/`, `//graphql`, `/./graphql`, `/x/../graphql`,
// `/graphql#x` — can never reach GraphQL past the key check. Such spellings are simply not found.

import { WATCH_LINK_PREFIX } from '../live/watch-links.js';
import { STORED_VIDEO_PREFIX } from '../videos/video-links.js';

export type Route = 'graphql' | 'health' | 'ready' | 'metrics' | 'graphiql-asset' | 'simulator-video' | 'stored-video' | 'watch-link';

/**
 * GraphiQL's files (graphiql-assets.ts) live under this prefix. The whole path goes to that module,
 * which answers only the exact paths of its own list: no path is ever mapped onto the disk.
 */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

/**
 * The embedded simulator's videos (http/simulator-video-route.ts) live under this prefix; that module
 * answers only `<prefix><task id>.mp4`, and only while the embedded simulator runs.
 */
export const SIMULATOR_VIDEO_PREFIX = '/simulator/videos/';

const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['/graphql', 'graphql'],
  ['/health', 'health'],
  ['/ready', 'ready'],
  ['/metrics', 'metrics'],
]);

/**
 * Routes that own every path under a prefix; each answers only the exact paths it knows
 * (stored videos: `<prefix><key>` with a signed query, see http/stored-video-route.ts).
 */
const PREFIX_ROUTES: ReadonlyArray<readonly [string, Route]> = [
  [GRAPHIQL_ASSET_PREFIX, 'graphiql-asset'],
  [SIMULATOR_VIDEO_PREFIX, 'simulator-video'],
  [STORED_VIDEO_PREFIX, 'stored-video'],
  [WATCH_LINK_PREFIX, 'watch-link'],
];

export interface RequestTarget {
  route: Route;
  /** The canonical path of the route, e.g. `/graphql`. */
  path: string;
  /** The query string, without its `?`; empty when there is none. */
  search: string;
}

export type TargetResult = { kind: 'found'; target: RequestTarget } | { kind: 'not-found' } | { kind: 'malformed' };

/**
 * Origin-form (`/graphql?x`) is matched on its raw path. Absolute-form (`http://host/graphql`,
 * which HTTP/1.1 servers must accept) is matched on its parsed path. Anything else — asterisk-form
 * (`*`), authority-form, garbage — is malformed.
 */
export function requestTarget(rawUrl: string | undefined): TargetResult {
  const raw = rawUrl ?? '';
  let path: string;
  let search: string;
  if (raw.startsWith('/')) {
    const query = raw.indexOf('?');
    path = query < 0 ? raw : raw.slice(0, query);
    search = query < 0 ? '' : raw.slice(query + 1);
  } else if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { kind: 'malformed' };
    }
    path = url.pathname;
    search = url.search.slice(1);
  } else {
    return { kind: 'malformed' };
  }
  const route = ROUTES.get(path) ?? PREFIX_ROUTES.find(([prefix]) => path.startsWith(prefix))?.[1];
  return route === undefined ? { kind: 'not-found' } : { kind: 'found', target: { route, path, search } };
}
