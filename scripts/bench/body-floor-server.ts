// The plain Node floor for big request bodies: a bare node:http server that reads the whole body
// into one Buffer, JSON.parses it and answers 200 with a few bytes (400 when it is not JSON). No
// framework, no limits: what reading and parsing the bytes costs Node itself. Prints its URL as one line.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.on('end', () => {
    let status = 200;
    let keys = 0;
    try {
      const value = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
      keys = value !== null && typeof value === 'object' ? Object.keys(value).length : 0;
    } catch {
      status = 400;
    }
    const body = JSON.stringify({ ok: status === 200, bytes: size, keys });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// No request timeout: the bench bounds its own requests.
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
