// Where the gateway keeps its own copies of finished videos, and how it serves them back. Two
// implementations sit side by side: a folder under DATA_DIR (one replica) and S3-compatible object
// storage (many replicas). The composition root picks one; everything else sees this interface.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a store could not serve: 404 (no such object), 416 (range outside it, headers carry Content-Range), 500 (store failure). */
export interface StoreRefusal {
  status: 404 | 416 | 500;
  headers: Record<string, string>;
}

export interface VideoStore {
  /** 'folder' or 's3', for logs and metrics. */
  readonly kind: 'folder' | 's3';
  /**
   * Stores the finished file at `filePath` under `key`, replacing any object there; resolves once durable.
   * The caller deletes filePath afterwards if it still exists (the folder store may rename it away).
   * Rejects, storing nothing, when `key` is not a video key.
   */
  put(key: string, filePath: string, contentType: string): Promise<void>;
  /**
   * Answers GET or HEAD for the object: 200, or 206 for a single `Range`, with Content-Type, Content-Length,
   * Accept-Ranges: bytes, Content-Range, ETag and Last-Modified; conditional GETs (If-None-Match /
   * If-Modified-Since → 304) where the backend supports them. Calls `onRefused` instead of writing when it
   * cannot serve (nothing written yet). If the client goes away mid-stream the backend read is stopped.
   * A key that is not a video key is refused with 404. A backend failure after the headers went out
   * cuts the response short (the client sees a truncated body), since it is too late for a status.
   */
  serve(req: IncomingMessage, res: ServerResponse, key: string, onRefused: (refusal: StoreRefusal) => void): void;
  /** Removes objects; a missing one is not an error. Rejects, deleting nothing, if any key is not a video key. */
  delete(keys: readonly string[]): Promise<void>;
  /** A directory on local disk where the copier may write partial downloads before `put` (same filesystem as the folder store, so put can rename). */
  readonly scratchDirectory: string;
  close(): Promise<void>;
}

// Keys become file names and object names: a closed alphabet and a fixed extension leave no room
// for '/', '..', dotfiles or empty names.
const VIDEO_KEY = /^[A-Za-z0-9_-]{16,64}\.(mp4|gif)$/;

/** Keys are `<id>.mp4` or `<id>.gif`, id = 16..64 chars of [A-Za-z0-9_-]. Anything else is refused by every method (path traversal guard). */
export function isVideoKey(key: string): boolean {
  return VIDEO_KEY.test(key);
}

/** The one-line error `put` and `delete` reject with for a key that is not a video key (the key is not echoed: it may be hostile). */
export function invalidVideoKeyError(): Error {
  return new Error('not a video key: expected <16..64 chars of [A-Za-z0-9_-]>.mp4 or .gif');
}

/**
 * Makes a store's scratch folder ready: created if missing, and emptied, since whatever is in it is
 * a download a crash interrupted (nothing else is ever left there).
 */
export async function prepareScratchDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const entries = await readdir(directory);
  await Promise.all(entries.map((entry) => rm(join(directory, entry), { recursive: true, force: true })));
}
