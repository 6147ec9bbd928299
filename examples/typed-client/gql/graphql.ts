/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Frame aspect ratio, width:height. */
export type AspectRatio =
  /** Square (upstream "1:1"). */
  | 'RATIO_1_1'
  /** Portrait 3:4 (upstream "3:4"). */
  | 'RATIO_3_4'
  /** Landscape 4:3 (upstream "4:3"). */
  | 'RATIO_4_3'
  /** Portrait 9:16 (upstream "9:16"). */
  | 'RATIO_9_16'
  /** Landscape 16:9 (upstream "16:9"). */
  | 'RATIO_16_9';

/** What to generate. */
export type CreateReferenceVideoInput = {
  /** Frame shape; left out, the video service chooses. */
  aspectRatio?: AspectRatio | null | undefined;
  /** Generate an audio track (voices, sound). */
  audio?: boolean | null | undefined;
  /** Add background music (no effect with audio, or for 9–10 s videos). */
  backgroundMusic?: boolean | null | undefined;
  /** Length in seconds, 1–10; null means the default, 5. */
  durationSeconds?: number | null | undefined;
  /** Amount of motion; left out, the video service uses AUTO. */
  movementAmplitude?: MovementAmplitude | null | undefined;
  /** What happens in the video, at most 2000 characters; refer to subjects as @id. */
  prompt: string;
  /** Output resolution. */
  resolution?: VideoResolution | null | undefined;
  /** Seed 0–2147483647; the same seed gives a similar result; 0 or null means random. */
  seed?: number | null | undefined;
  /** 1–7 subjects, with at most 7 images in total. */
  subjects: Array<SubjectInput>;
  /** Add a watermark. */
  watermark?: boolean | null | undefined;
};

/** How much the camera and subjects move. */
export type MovementAmplitude =
  /** Let the model decide (upstream "auto"); the upstream default. */
  | 'AUTO'
  /** Large movement (upstream "high"). */
  | 'HIGH'
  /** Moderate movement (upstream "medium"). */
  | 'MEDIUM'
  /** Subtle movement (upstream "small"). */
  | 'SMALL';

/** A person, product or character that appears in the video, shown by reference images. */
export type SubjectInput = {
  /** Name of the subject; the prompt refers to it as @id (e.g. id "1" is @1). Unique within a request. */
  id: string;
  /** Reference images uploaded as files (png, jpeg or webp; at least 128×128, aspect ratio between 1:4 and 4:1), in a multipart request. With images, 1–3 images per subject in all. */
  imageFiles?: Array<File | Blob> | null | undefined;
  /** Reference images as public http(s) URLs or data:image/(png|jpeg|webp);base64 URIs. With imageFiles, 1–3 images per subject in all. */
  images?: Array<string> | null | undefined;
  /** Voice for this subject; only with audio: true. */
  voiceId?: string | null | undefined;
};

/** Where a generation task is in its life. */
export type TaskStatus =
  /** Ended without a video; see `failureReason` (upstream TASK_STATUS_FAILED). Terminal. */
  | 'FAILED'
  /** Being generated (upstream TASK_STATUS_PROCESSING). */
  | 'PROCESSING'
  /** Accepted, waiting for a worker (upstream TASK_STATUS_QUEUED). */
  | 'QUEUED'
  /** Done; `videos` holds the result (upstream TASK_STATUS_SUCCEED). Terminal. */
  | 'SUCCEEDED'
  /** The upstream reported a status this gateway does not know. Not terminal: read the task again later. */
  | 'UNKNOWN';

/** Why an input was refused. INVALID_INPUT, IMAGE_REJECTED, CONTENT_REFUSED and INSUFFICIENT_BALANCE are refusals by the video service; NOT_FOUND is deleteTask's answer for a task the caller's history does not hold; every other code is a check the gateway makes before spending credit. */
export type UserErrorCode =
  /** A required text is empty or only white space. */
  | 'BLANK'
  /** The create would exceed the caller's daily credit budget (the user's or the tenant's); the message names the limit and when it resets. */
  | 'BUDGET_EXCEEDED'
  /** The video service refused the prompt or an image (content moderation). */
  | 'CONTENT_REFUSED'
  /** A value that must be unique appears more than once. */
  | 'DUPLICATE'
  /** The Idempotency-Key was already used, within 24 hours, with different input. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** An image (base64 or uploaded) is wider or taller than 4:1. */
  | 'IMAGE_ASPECT_RATIO'
  /** The video service rejected a reference image (format, file size or dimensions). */
  | 'IMAGE_REJECTED'
  /** A base64 image or uploaded file is larger than allowed once decoded. */
  | 'IMAGE_TOO_LARGE'
  /** An image (base64 or uploaded) is smaller than 128×128 pixels. */
  | 'IMAGE_TOO_SMALL'
  /** The video service account does not have enough credit. */
  | 'INSUFFICIENT_BALANCE'
  /** An image is neither an http(s) URL nor a valid png, jpeg or webp (base64 data URI or uploaded file), or its declared type disagrees with its bytes. */
  | 'INVALID_IMAGE'
  /** The video service rejected the request body as invalid. */
  | 'INVALID_INPUT'
  /** No task with this id in the caller's history: unknown, already deleted, or another tenant's. */
  | 'NOT_FOUND'
  /** A number is outside its allowed range. */
  | 'OUT_OF_RANGE'
  /** The whole request would exceed the video service body limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** A list has fewer items than required. */
  | 'TOO_FEW'
  /** A text is longer than allowed. */
  | 'TOO_LONG'
  /** A list has more items than allowed. */
  | 'TOO_MANY'
  /** The prompt names a subject (@id) that the request does not define. */
  | 'UNKNOWN_SUBJECT_REFERENCE'
  /** A subject has a voiceId but audio is not enabled. */
  | 'VOICE_REQUIRES_AUDIO';

/** Container format of a generated video. */
export type VideoFormat =
  /** Animated GIF (upstream "gif"). */
  | 'GIF'
  /** MPEG-4 video (upstream "mp4"). */
  | 'MP4';

/** Output video resolution. */
export type VideoResolution =
  /** 960×540 (upstream "540p"). */
  | 'RES_540P'
  /** 1280×720 (upstream "720p"); the default. */
  | 'RES_720P'
  /** 1920×1080 (upstream "1080p"). */
  | 'RES_1080P';

export type CreateVideoMutationVariables = Exact<{
  input: CreateReferenceVideoInput;
}>;


export type CreateVideoMutation = { createReferenceVideo: { taskId: string | null, userErrors: Array<{ field: Array<string> | null, code: UserErrorCode, message: string }> } };

export type FollowTaskSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type FollowTaskSubscription = { taskUpdates: { id: string, status: TaskStatus, progressPercent: number | null, etaSeconds: number | null, failureReason: string | null, isTerminal: boolean, videos: Array<{ url: string, format: VideoFormat, expiresAt: string }> } };

export type ReadTaskQueryVariables = Exact<{
  id: string | number;
}>;


export type ReadTaskQuery = { task: { id: string, status: TaskStatus, failureReason: string | null, completedAt: string | null, videos: Array<{ url: string, format: VideoFormat, expiresAt: string }> } | null };


export const CreateVideoDocument = {"__meta__":{"hash":"sha256:51eff53e359ec358ab26b6867760ca9a2df9ff14e628433e8e0255a5f29b3a92"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateVideo"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateReferenceVideoInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createReferenceVideo"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"taskId"}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<CreateVideoMutation, CreateVideoMutationVariables>;
export const FollowTaskDocument = {"__meta__":{"hash":"sha256:f4501cb804de7054d21afffdba922205605141a1fd63730ee5aa248b20075c2a"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"FollowTask"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"taskUpdates"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progressPercent"}},{"kind":"Field","name":{"kind":"Name","value":"etaSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"failureReason"}},{"kind":"Field","name":{"kind":"Name","value":"isTerminal"}},{"kind":"Field","name":{"kind":"Name","value":"videos"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]}}]} as unknown as DocumentNode<FollowTaskSubscription, FollowTaskSubscriptionVariables>;
export const ReadTaskDocument = {"__meta__":{"hash":"sha256:33b0bb0c3245e1e29f07fff10e9f1c67b3a5b09a378012c52b5c8a37f57176de"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ReadTask"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"task"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failureReason"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}},{"kind":"Field","name":{"kind":"Name","value":"videos"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]}}]} as unknown as DocumentNode<ReadTaskQuery, ReadTaskQueryVariables>;