// The embedded simulator's videos, served on the gateway's own port and origin, so a link handed to a
// browser plays from another machine or from outside a container (the simulator itself listens on a
// random loopback port). The route exists only while the embedded simulator runs; with a real upstream,
// video links are the upstream's own and this path is not found.
//
// No client key: a `<video src>` cannot send headers. The link names only the simulator's task id; all
// it can fetch is the simulator's sample clip, for a task that has finished.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SIMULATOR_VIDEO_PREFIX } from './request-target.js';

// Under the route's prefix, exactly one segment: the task id, still percent-encoded as in the link
// (the simulator decodes it).
const VIDEO_FILE = /^([^/]+)\.mp4$/;

/** The base of the simulator's video links (it appends `/<task id>.mp4`), under the gateway's public URL (no trailing slash). */
export function simulatorVideoBaseUrl(publicUrl: string): string {
  return `${publicUrl}${SIMULATOR_VIDEO_PREFIX.slice(0, -1)}`;
}

/** The simulator's answer for a video: the file (Range, HEAD, conditional requests), or a refusal to write. */
export type ServeSimulatorVideo = (
  req: IncomingMessage,
  res: ServerResponse,
  encodedTaskId: string,
  onRefused: (refusal: { status: number; headers: Record<string, string> }) => void,
) => void;

/** Writes an error in the gateway's shape (one error with a stable extensions.code). */
export type WriteError = (status: number, code: string, message: string, headers?: Record<string, string>) => void;

export function serveSimulatorVideo(req: IncomingMessage, res: ServerResponse, path: string, serve: ServeSimulatorVideo, writeError: WriteError): void {
  const writeRefusal: WriteError = (...refusal) => {
    // The client may have gone, or the file stream failed after its headers were sent.
    if (res.headersSent) return void res.destroy();
    if (!res.destroyed) writeError(...refusal);
  };
  const encodedTaskId = path.startsWith(SIMULATOR_VIDEO_PREFIX) ? VIDEO_FILE.exec(path.slice(SIMULATOR_VIDEO_PREFIX.length))?.[1] : undefined;
  if (encodedTaskId === undefined) return writeRefusal(404, 'NOT_FOUND', 'No video at this path.');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return writeRefusal(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD for a video.', { allow: 'GET, HEAD' });
  }
  serve(req, res, encodedTaskId, ({ status, headers }) => {
    if (status === 404) return writeRefusal(404, 'NOT_FOUND', 'No video for this task: the id is unknown or the task has not succeeded.');
    if (status === 416) return writeRefusal(416, 'RANGE_NOT_SATISFIABLE', 'The requested range is outside the video.', headers);
    // A broken installation (the sample file missing): nothing a client can act on.
    return writeRefusal(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
  });
}

