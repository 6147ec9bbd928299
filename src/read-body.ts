// Reads a request body into one Buffer, keeping at most `maxBytes`: for the gateway's HTTP layer and
// the simulator alike. A declared Content-Length over the cap is refused before reading. Past the
// cap the rest of a streamed body flows by without being kept, so the client can finish sending and
// read the refusal (closing on it mid-upload makes it fail with EPIPE instead); a client that keeps
// sending far past the cap is cut off.
import type { IncomingMessage } from 'node:http';

export type BodyRead = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

/** How much of an oversized body is let through (as a multiple of the cap) before hanging up. */
const DISCARD_FACTOR = 4;

export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve({ kind: 'too-large' });
  if (req.destroyed) return Promise.resolve({ kind: 'aborted' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      chunks.length = 0;
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        finish({ kind: 'too-large' });
        discardRest(req, maxBytes);
      } else chunks.push(chunk);
    };
    // One chunk is handed on as it is: no copy of a body that arrived whole.
    const onEnd = (): void => finish({ kind: 'ok', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onClose = (): void => finish({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

function discardRest(req: IncomingMessage, maxBytes: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_FACTOR * maxBytes) req.socket.destroy();
  });
  req.resume();
}
