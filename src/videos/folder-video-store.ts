// The video store for a single replica: one file per key in a folder under DATA_DIR. Writes are
// crash-safe (fsync, atomic rename, fsync of the folder); reads go through `send`, which does
// ranges, HEAD and conditional GETs the way the simulator's sample clip already does.
import { errorCodeOf } from '../error-details.js';
import { randomUUID } from 'node:crypto';
import { copyFile, open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import send from 'send';
import { invalidVideoKeyError, isVideoKey, prepareScratchDirectory, type StoreRefusal, type VideoStore } from './video-store.js';

// A dot-folder: `send` is told to deny dotfiles, and no video key starts with a dot, so partial
// downloads can never be served even if someone asked for them by name.
const PARTIAL_FOLDER = '.partial';

/**
 * Opens (creating if needed) the folder store at `directory`. Files left in `directory/.partial`
 * are downloads a crash interrupted: they are removed here, before anyone writes there again.
 */
export async function openFolderVideoStore(directory: string): Promise<VideoStore> {
  const scratchDirectory = join(directory, PARTIAL_FOLDER);
  await prepareScratchDirectory(scratchDirectory);

  return {
    kind: 'folder',
    scratchDirectory,

    async put(key, filePath) {
      // contentType is not stored: `send` derives it from the extension, which isVideoKey pins to .mp4 or .gif.
      if (!isVideoKey(key)) throw invalidVideoKeyError();
      const target = join(directory, key);
      await syncFile(filePath);
      try {
        await rename(filePath, target);
      } catch (error) {
        if (errorCodeOf(error) !== 'EXDEV') throw error;
        await copyIntoPlace(filePath, target, scratchDirectory);
      }
      // The rename is only durable once the folder's entry for it is on disk.
      await syncFile(directory);
    },

    serve(req, res, key, onRefused) {
      if (!isVideoKey(key)) {
        onRefused({ status: 404, headers: {} });
        return;
      }
      send(req, `/${key}`, {
        root: directory,
        index: false,
        // The route decides Cache-Control (links are signed and expire); `send` must not add its own.
        cacheControl: false,
        dotfiles: 'deny',
      })
        .on('error', (error: unknown) => {
          // `send` reports a read error after the headers went out through this same event: too late
          // for a status, so cut the response short and let the client see it truncated.
          if (res.headersSent) res.destroy();
          else onRefused(toStoreRefusal(error));
        })
        .pipe(res);
    },

    async delete(keys) {
      if (!keys.every(isVideoKey)) throw invalidVideoKeyError();
      for (const key of keys) {
        try {
          await unlink(join(directory, key));
        } catch (error) {
          if (errorCodeOf(error) !== 'ENOENT') throw error;
        }
      }
    },

    async close() {
      // Nothing held open between calls.
    },
  };
}

// `filePath` is on another filesystem, so no atomic rename from there: copy to a temporary name on
// ours, make it durable, then rename. A crash midway leaves only a file in .partial, cleaned at open.
async function copyIntoPlace(filePath: string, target: string, scratchDirectory: string): Promise<void> {
  const temporary = join(scratchDirectory, `put-${randomUUID()}.tmp`);
  try {
    await copyFile(filePath, temporary);
    await syncFile(temporary);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

// fsync works on a read-only handle, for files and (on Linux) for directories alike.
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}


// `send` raises http-errors objects (`status`, and `headers` carrying Content-Range for 416) or, for
// a file that vanished, errors with code ENOENT. Anything else is a store failure.
function toStoreRefusal(error: unknown): StoreRefusal {
  const status = typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
  if (status === 404 || errorCodeOf(error) === 'ENOENT') return { status: 404, headers: {} };
  if (status === 416) return { status: 416, headers: stringHeadersOf(error) };
  return { status: 500, headers: {} };
}

function stringHeadersOf(error: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof error === 'object' && error !== null && 'headers' in error && typeof error.headers === 'object' && error.headers !== null) {
    for (const [name, value] of Object.entries(error.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
  }
  return headers;
}
