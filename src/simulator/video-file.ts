// Serves the one sample clip for every finished task, as the upstream's signed video URL would:
// video/mp4, byte ranges (206 + Content-Range), HEAD, conditional GETs. `send` does the HTTP work.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import send from 'send';

// Relative to this module, so it works whatever the working directory.
const ASSETS_DIRECTORY = fileURLToPath(new URL('./assets/', import.meta.url));
const SAMPLE_VIDEO_FILE = 'sample.mp4';

/** Why `send` could not answer: its HTTP status, and headers it wanted sent (e.g. Content-Range on 416). */
export interface VideoFileError {
  status: number;
  headers: Record<string, string>;
}

/**
 * Streams the sample clip to `res`, honouring Range and HEAD. When `send` cannot (416 for a range
 * outside the file, 500 if the asset is missing), it leaves the answer to `onError`.
 */
export function sendSampleVideo(req: IncomingMessage, res: ServerResponse, onError: (error: VideoFileError) => void): void {
  send(req, SAMPLE_VIDEO_FILE, {
    root: ASSETS_DIRECTORY,
    index: false,
    // The URL stands for a signed, expiring link: leave caching decisions to the client.
    cacheControl: false,
  })
    .on('error', (error: unknown) => onError(toVideoFileError(error)))
    .pipe(res);
}

// `send` raises http-errors objects: `status`, and `headers` for 416. Anything else is our fault.
function toVideoFileError(error: unknown): VideoFileError {
  if (typeof error !== 'object' || error === null) return { status: 500, headers: {} };
  const status = 'status' in error && typeof error.status === 'number' ? error.status : 500;
  const headers: Record<string, string> = {};
  if ('headers' in error && typeof error.headers === 'object' && error.headers !== null) {
    for (const [name, value] of Object.entries(error.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
  }
  // A missing asset is a broken installation, not a missing video: say so with a 500.
  return { status: status === 404 ? 500 : status, headers };
}
