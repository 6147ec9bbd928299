// Watch links (live/watch-links.ts): `GET /watch/<token>?expires=…&signature=…` streams one task's
// `taskUpdates` as server-sent events, with no Authorization header, for `new EventSource(url)`.
// The link is the credential: it names the task and whose view it is, and is checked here; the
// events are those of the `taskUpdates` subscription (the same shared poller, one per task however
// many browsers open the link), as `event: next` with the GraphQL result, then `event: complete`.
// A tampered link is not found (404); a genuine one past its expiry is gone (410).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import type { IdScope } from '../auth/caller-owner.js';
import { WATCH_LINK_PREFIX, type WatchLinks } from '../live/watch-links.js';
import type { WriteError } from './simulator-video-route.js';

/** Runs the task's subscription for this view; one result (an error) when it cannot start. */
export type WatchTask = (
  scope: IdScope,
  taskId: string,
  address: string,
  signal: AbortSignal,
) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;

export interface WatchLinkOptions {
  links: WatchLinks;
  watch: WatchTask;
  /**
   * Streams one link may hold open at once. Its streams count against the tenant's subscription
   * limits, so without this one leaked link could take them all.
   */
  maxStreamsPerLink: number;
}

/** Streams open per link (by its token), for `maxStreamsPerLink`; one per HTTP handler. */
export type OpenWatchStreams = Map<string, number>;

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
const TOKEN = /^[A-Za-z0-9_-]+$/;

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export async function serveWatchLink(
  req: IncomingMessage,
  res: ServerResponse,
  target: { path: string; search: string },
  options: WatchLinkOptions,
  open: OpenWatchStreams,
  writeError: WriteError,
): Promise<void> {
  // Any page may open it: the link is the capability, and EventSource sends no credentials with it.
  const cors = { 'access-control-allow-origin': '*' };
  const token = target.path.slice(WATCH_LINK_PREFIX.length);
  if (!TOKEN.test(token)) return writeError(404, 'NOT_FOUND', 'No watch link at this address.', cors);
  if (req.method !== 'GET') return writeError(405, 'METHOD_NOT_ALLOWED', 'Open a watch link with GET (EventSource).', { allow: 'GET', ...cors });
  const query = new URLSearchParams(target.search);
  const verdict = options.links.verify(token, query.get('expires'), query.get('signature'));
  if (verdict.kind === 'forged') return writeError(404, 'NOT_FOUND', 'No watch link at this address.', cors);
  if (verdict.kind === 'expired') return writeError(410, 'WATCH_LINK_EXPIRED', 'This watch link has expired; read the task again for a fresh watchUrl.', cors);

  const opened = open.get(token) ?? 0;
  if (opened >= options.maxStreamsPerLink) {
    return writeError(429, 'TOO_MANY_STREAMS', `This watch link already has ${options.maxStreamsPerLink} streams open; close one first.`, {
      'retry-after': '5',
      ...cors,
    });
  }
  open.set(token, opened + 1);
  res.once('close', () => {
    const left = (open.get(token) ?? 1) - 1;
    if (left > 0) open.set(token, left);
    else open.delete(token);
  });

  const controller = new AbortController();
  res.once('close', () => controller.abort());
  const result = await options.watch(verdict.scope, verdict.taskId, req.socket.remoteAddress ?? 'unknown', controller.signal);
  if (controller.signal.aborted) return;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // nginx and friends would hold events back until a buffer fills.
    'x-accel-buffering': 'no',
    ...cors,
  });
  const send = (event: string, data: string) => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${data}\n\n`);
  };
  if (!isAsyncIterable(result)) {
    send('next', JSON.stringify(result));
    send('complete', '');
    res.end();
    return;
  }
  const heartbeat = setInterval(() => res.destroyed || res.write(': ping\n\n'), HEARTBEAT_MS);
  const iterator = result[Symbol.asyncIterator]();
  // The browser left: end the subscription now (its watcher leaves the task's poller), not at its next event.
  controller.signal.addEventListener('abort', () => void iterator.return?.(), { once: true });
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || controller.signal.aborted) break;
      send('next', JSON.stringify(next.value));
    }
    send('complete', '');
  } finally {
    clearInterval(heartbeat);
    if (!res.destroyed) res.end();
  }
}
