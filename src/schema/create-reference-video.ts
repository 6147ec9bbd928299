// The createReferenceVideo mutation: its input and payload.
import type { CreatePayloadValue } from '../create-video/input.js';
import { LIMITS } from '../create-video/validate-input.js';
import { builder } from './builder.js';
import { AspectRatio, MovementAmplitude, VideoResolution } from './enums.js';
import { Task } from './task.js';
import { UserError } from './user-error.js';

const SubjectInput = builder.inputType('SubjectInput', {
  description: 'A person, product or character that appears in the video, shown by reference images.',
  fields: (t) => ({
    id: t.string({
      required: true,
      description: 'Name of the subject; the prompt refers to it as @id (e.g. id "1" is @1). Unique within a request.',
    }),
    images: t.stringList({
      description: `Reference images as public http(s) URLs or data:image/(png|jpeg|webp);base64 URIs. With imageFiles, 1–${LIMITS.maxImagesPerSubject} images per subject in all.`,
    }),
    imageFiles: t.field({
      type: ['File'],
      description: `Reference images uploaded as files (png, jpeg or webp; at least 128×128, aspect ratio between 1:4 and 4:1), in a multipart request. With images, 1–${LIMITS.maxImagesPerSubject} images per subject in all.`,
    }),
    voiceId: t.string({ description: 'Voice for this subject; only with audio: true.' }),
  }),
});

const CreateReferenceVideoInput = builder.inputType('CreateReferenceVideoInput', {
  description: 'What to generate.',
  fields: (t) => ({
    prompt: t.string({
      required: true,
      description: `What happens in the video, at most ${LIMITS.promptMaxCodePoints} characters; refer to subjects as @id.`,
    }),
    subjects: t.field({
      type: [SubjectInput],
      required: true,
      description: `1–${LIMITS.maxSubjects} subjects, with at most ${LIMITS.maxImagesTotal} images in total.`,
    }),
    durationSeconds: t.int({ defaultValue: 5, description: 'Length in seconds, 1–10; null means the default, 5.' }),
    resolution: t.field({ type: VideoResolution, defaultValue: '720p', description: 'Output resolution.' }),
    aspectRatio: t.field({ type: AspectRatio, description: 'Frame shape; left out, the video service chooses.' }),
    movementAmplitude: t.field({ type: MovementAmplitude, description: 'Amount of motion; left out, the video service uses AUTO.' }),
    seed: t.int({ description: 'Seed 0–2147483647; the same seed gives a similar result; 0 or null means random.' }),
    audio: t.boolean({ defaultValue: false, description: 'Generate an audio track (voices, sound).' }),
    backgroundMusic: t.boolean({ defaultValue: false, description: 'Add background music (no effect with audio, or for 9–10 s videos).' }),
    watermark: t.boolean({ defaultValue: false, description: 'Add a watermark.' }),
  }),
});

const CreateReferenceVideoPayload = builder.objectRef<CreatePayloadValue>('CreateReferenceVideoPayload').implement({
  description: 'The result of createReferenceVideo: a task id, or userErrors saying what to fix.',
  fields: (t) => ({
    taskId: t.id({
      nullable: true,
      description: 'Id of the new task (use it with task, tasks and taskUpdates); null when userErrors is not empty.',
      resolve: (payload, _args, ctx) => (payload.taskId === null ? null : ctx.ids.toPublic(payload.taskId, ctx.scope)),
    }),
    providerRequestId: t.exposeString('providerRequestId', {
      nullable: true,
      description: 'The video service\'s request id, for support tickets.',
    }),
    task: t.field({
      type: Task,
      nullable: true,
      description: 'The new task\'s current state, read in the same operation.',
      resolve: (payload, _args, ctx) => (payload.taskId === null ? null : ctx.taskLoader.load(payload.taskId)),
    }),
    userErrors: t.expose('userErrors', { type: [UserError], description: 'What is wrong with the input; empty on success.' }),
  }),
});

builder.mutationField('createReferenceVideo', (t) =>
  t.field({
    type: CreateReferenceVideoPayload,
    description: 'Starts generating a video from a prompt and reference images of subjects. Costs credit only when userErrors is empty.',
    args: { input: t.arg({ type: CreateReferenceVideoInput, required: true, description: 'What to generate.' }) },
    resolve: (_root, { input }, ctx) => ctx.createVideo.create(input, { tenant: ctx.tenant, user: ctx.user, userOwner: ctx.userOwner, idempotencyKey: ctx.idempotencyKey, signal: ctx.signal }),
  }),
);
