// The gateway's own copies of finished videos, at the signed links `Video.url` hands out
// (videos/video-links.ts). No client key: a `<video src>` cannot send one, so the link itself is the
// capability. A link that was not signed here, or was altered, is not found (404) — it reveals
// nothing; a genuine one past its expiry is gone (410), and a fresh read of the task gives a new one.
// The bytes come from the video store with byte ranges, HEAD and conditional requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STORED_VIDEO_PREFIX, type VideoLinks } from '../videos/video-links.js';
import { isVideoKey, type VideoStore } from '../videos/video-store.js';
import type { WriteError } from './simulator-video-route.js';

export interface StoredVideos {
  links: VideoLinks;
  store: VideoStore;
}

export function serveStoredVideo(req: IncomingMessage, res: ServerResponse, target: { path: string; search: string }, videos: StoredVideos, writeError: WriteError): void {
  const writeRefusal: WriteError = (status, code, message, headers) => {
    // The client may have gone, or the store's stream failed after its headers were sent.
    if (res.headersSent) return void res.destroy();
    if (res.destroyed) return;
    // Set for the video; a refusal must not be cached for as long.
    res.removeHeader('cache-control');
    writeError(status, code, message, headers);
  };
  const key = target.path.slice(STORED_VIDEO_PREFIX.length);
  if (!target.path.startsWith(STORED_VIDEO_PREFIX) || !isVideoKey(key)) return writeRefusal(404, 'NOT_FOUND', 'No video at this link.');
  if (req.method !== 'GET' && req.method !== 'HEAD') return writeRefusal(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD for a video.', { allow: 'GET, HEAD' });
  const query = new URLSearchParams(target.search);
  const now = Date.now();
  const verdict = videos.links.verify(key, query.get('expires'), query.get('signature'), now);
  if (verdict === 'forged') return writeRefusal(404, 'NOT_FOUND', 'No video at this link.');
  if (verdict === 'expired') return writeRefusal(410, 'VIDEO_LINK_EXPIRED', 'This video link has expired; read the task again for a fresh one.');
  // The bytes behind a link never change; a browser may keep them until the link expires.
  const remainingSeconds = Math.max(0, Math.floor((Number(query.get('expires')) * 1000 - now) / 1000));
  res.setHeader('cache-control', `private, max-age=${remainingSeconds}`);
  // Players on any site may embed it, as they would a signed S3 URL.
  res.setHeader('cross-origin-resource-policy', 'cross-origin');
  res.setHeader('x-content-type-options', 'nosniff');
  videos.store.serve(req, res, key, ({ status, headers }) => {
    if (status === 404) return writeRefusal(404, 'NOT_FOUND', 'No video at this link.');
    if (status === 416) return writeRefusal(416, 'RANGE_NOT_SATISFIABLE', 'The requested range is outside the video.', headers);
    return writeRefusal(503, 'VIDEO_STORAGE_UNAVAILABLE', 'The video storage cannot be reached right now; retry shortly.', { 'retry-after': '5' });
  });
}
