// The floor for serving stored videos: a bare node:http server that hands every GET to `send` alone,
// on the folder store's directory (VIDEO_DIRECTORY) with the options the folder store passes it
// (folder-video-store.ts): no index, no Cache-Control of its own, dotfiles denied. No routing, no
// signed-link check, no headers of ours: what serving the file costs `send` itself. Prints its URL
// as one line; a file is at `<url>/<key>`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import send from 'send';

const directory = process.env.VIDEO_DIRECTORY;
if (!directory) throw new Error('send-floor-server: set VIDEO_DIRECTORY to the folder to serve');

const server = createServer((req, res) => {
  send(req, new URL(req.url ?? '/', 'http://floor').pathname, { root: directory, index: false, cacheControl: false, dotfiles: 'deny' })
    .on('error', (error: { status?: number }) => {
      if (res.headersSent) return void res.destroy();
      res.statusCode = error.status ?? 500;
      res.end();
    })
    .pipe(res);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
