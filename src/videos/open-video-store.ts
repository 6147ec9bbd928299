// Opens the video store the configuration names: S3-compatible object storage at VIDEO_STORAGE_URL
// (many replicas share it), or else a folder under DATA_DIR (the default: nothing to install).
import { firstLineOf } from '../error-details.js';
import { join } from 'node:path';
import type { VideoConfig } from '../config.js';
import { openFolderVideoStore } from './folder-video-store.js';
import { openS3VideoStore } from './s3-video-store.js';
import type { VideoStore } from './video-store.js';

/** Under DATA_DIR: the folder store's copies, and S3's downloads in progress. */
const FOLDER_NAME = 'videos';
const S3_SCRATCH_FOLDER_NAME = 'video-downloads';

export class VideoStoreOpenError extends Error {
  override readonly name = 'VideoStoreOpenError';
}

/** The store the configuration names. Throws VideoStoreOpenError: one line naming the setting to change. */
export async function openVideoStore(options: Pick<VideoConfig, 's3'> & { dataDir: string }): Promise<VideoStore> {
  const { s3 } = options;
  if (s3 === undefined) {
    const folder = join(options.dataDir, FOLDER_NAME);
    return openFolderVideoStore(folder).catch((error: unknown) => {
      throw new VideoStoreOpenError(`the video store cannot use ${folder} (set DATA_DIR to a writable folder): ${firstLineOf(error)}`);
    });
  }
  return openS3VideoStore({ ...s3, scratchDirectory: join(options.dataDir, S3_SCRATCH_FOLDER_NAME) }).catch((error: unknown) => {
    // The store's own messages name the bucket and the failure, never a credential.
    throw new VideoStoreOpenError(`the video store at VIDEO_STORAGE_URL (s3://${s3.bucket}/${s3.prefix}) cannot be used: ${firstLineOf(error)}`);
  });
}
