// A real S3-compatible server on loopback for the S3 video store's tests: s3rver, keeping its
// objects in a temporary folder of its own, with one bucket ready. It accepts any credentials.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// Bucket names are 3..63 characters.
const BUCKET = 'gateway-videos';

/** The parts of s3rver 3.7 we use (it ships no type declarations). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface RunningS3Server {
  /** e.g. http://127.0.0.1:40123, for the SDK's `endpoint` (with forcePathStyle). */
  endpoint: string;
  bucket: string;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<RunningS3Server> {
  // s3rver is CommonJS without types: require() it and describe the slice we use.
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = mkdtempSync(join(tmpdir(), 'gateway-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: BUCKET,
    async close() {
      // SDK clients keep connections alive; a test that forgot to destroy one must not hang close().
      server.httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
