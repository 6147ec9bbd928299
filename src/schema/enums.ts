// Enums shared by inputs and outputs. Each value's internal value is the exact upstream string,
// so mapping to the REST body is the identity and cannot drift.
import { builder } from './builder.js';

export const VideoResolution = builder.enumType('VideoResolution', {
  description: 'Output video resolution.',
  values: {
    RES_540P: { value: '540p', description: '960×540 (upstream "540p").' },
    RES_720P: { value: '720p', description: '1280×720 (upstream "720p"); the default.' },
    RES_1080P: { value: '1080p', description: '1920×1080 (upstream "1080p").' },
  } as const,
});

export const MovementAmplitude = builder.enumType('MovementAmplitude', {
  description: 'How much the camera and subjects move.',
  values: {
    AUTO: { value: 'auto', description: 'Let the model decide (upstream "auto"); the upstream default.' },
    SMALL: { value: 'small', description: 'Subtle movement (upstream "small").' },
    MEDIUM: { value: 'medium', description: 'Moderate movement (upstream "medium").' },
    HIGH: { value: 'high', description: 'Large movement (upstream "high").' },
  } as const,
});

export const AspectRatio = builder.enumType('AspectRatio', {
  description: 'Frame aspect ratio, width:height.',
  values: {
    RATIO_16_9: { value: '16:9', description: 'Landscape 16:9 (upstream "16:9").' },
    RATIO_9_16: { value: '9:16', description: 'Portrait 9:16 (upstream "9:16").' },
    RATIO_4_3: { value: '4:3', description: 'Landscape 4:3 (upstream "4:3").' },
    RATIO_3_4: { value: '3:4', description: 'Portrait 3:4 (upstream "3:4").' },
    RATIO_1_1: { value: '1:1', description: 'Square (upstream "1:1").' },
  } as const,
});

export const TaskStatus = builder.enumType('TaskStatus', {
  description: 'Where a generation task is in its life.',
  values: {
    QUEUED: { value: 'QUEUED', description: 'Accepted, waiting for a worker (upstream TASK_STATUS_QUEUED).' },
    PROCESSING: { value: 'PROCESSING', description: 'Being generated (upstream TASK_STATUS_PROCESSING).' },
    SUCCEEDED: { value: 'SUCCEEDED', description: 'Done; `videos` holds the result (upstream TASK_STATUS_SUCCEED). Terminal.' },
    FAILED: { value: 'FAILED', description: 'Ended without a video; see `failureReason` (upstream TASK_STATUS_FAILED). Terminal.' },
    UNKNOWN: {
      value: 'UNKNOWN',
      description: 'The upstream reported a status this gateway does not know. Not terminal: read the task again later.',
    },
  } as const,
});

export const VideoFormat = builder.enumType('VideoFormat', {
  description: 'Container format of a generated video.',
  values: {
    MP4: { value: 'MP4', description: 'MPEG-4 video (upstream "mp4").' },
    GIF: { value: 'GIF', description: 'Animated GIF (upstream "gif").' },
  } as const,
});
