// Opens the video store the configuration names: S3-compatible object storage at VIDEO_STORAGE_URL
// (many replicas share it), or else a folder under DATA_DIR (the default: nothing to install).
import { join } from 'node:path';
import type { VideoConfig } from '../config.js';
import { openFolderVideoStore } from './folder-video-store.js';
import { openS3VideoStore } from './s3-video-store.js';
import type { VideoStore } from './video-store.js';

/** Under DATA_DIR: the folder store's copies, and S3's downloads in progress. */
const FOLDER_NAME = 'videos';
const S3_SCRATCH_FOLDER_NAME = 'video-downloads';

export async function openVideoStore(options: Pick<VideoConfig, 's3'> & { dataDir: string }): Promise<VideoStore> {
  if (options.s3 === undefined) return openFolderVideoStore(join(options.dataDir, FOLDER_NAME));
  return openS3VideoStore({ ...options.s3, scratchDirectory: join(options.dataDir, S3_SCRATCH_FOLDER_NAME) });
}
