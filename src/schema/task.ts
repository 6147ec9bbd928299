// The Task and Video types and the queries that read tasks.
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import { playableVideos, type PlayableVideo } from '../videos/playable-videos.js';
import { isTerminalStatus } from '../upstream/task-snapshot.js';
import { builder } from './builder.js';
import { TaskStatus, VideoFormat } from './enums.js';
import { badUserInput } from './errors.js';
import { Node } from './node.js';
import { upstreamTaskId } from './task-id-argument.js';

const TASKS_MAX_IDS = 100;

export const Video = builder.objectRef<PlayableVideo>('Video').implement({
  description: 'A generated video file.',
  fields: (t) => ({
    url: t.exposeString('url', {
      description:
        "The URL to play now, valid until `expiresAt`: the gateway's own copy once `stored` (served as video/mp4 with byte ranges; a read after `expiresAt` gives a fresh URL), until then the video service's signed URL.",
    }),
    format: t.expose('format', { type: VideoFormat, description: 'Container format.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      description:
        "When `url` stops working. For a stored copy, the signed link's expiry (read the task again for a fresh link); otherwise when the gateway read the result plus the video service's TTL.",
    }),
    stored: t.exposeBoolean('stored', {
      description:
        'Whether the gateway holds its own copy of this video (kept for the retention period, however long the video service keeps its URL). False until the copy is made, which happens in the background soon after the task succeeds and is retried until it works.',
    }),
  }),
});

export const Task = builder.objectRef<TaskSnapshot>('Task').implement({
  description: 'A video generation task, as last read from the video service.',
  interfaces: [Node],
  fields: (t) => ({
    id: t.id({
      description:
        'The task id: the upstream task_id verbatim on an open gateway; with client keys, an opaque id that only the creating tenant can read.',
      resolve: (task, _args, ctx) => ctx.ids.toPublic(task.id, ctx.scope),
    }),
    status: t.expose('status', { type: TaskStatus, description: 'Current status.' }),
    isTerminal: t.boolean({
      description: 'True once the task has SUCCEEDED or FAILED and will not change any more.',
      resolve: (task) => isTerminalStatus(task.status),
    }),
    progressPercent: t.exposeInt('progressPercent', {
      nullable: true,
      description: 'Progress from 0 to 100, when the upstream reports it.',
    }),
    etaSeconds: t.exposeInt('etaSeconds', {
      nullable: true,
      description: 'Estimated seconds until done; null when unknown or the task has ended.',
    }),
    failureReason: t.exposeString('failureReason', {
      nullable: true,
      description: 'Why the task failed; null unless status is FAILED.',
    }),
    videos: t.field({
      type: [Video],
      description: 'Generated videos; empty until SUCCEEDED.',
      resolve: async (task, _args, ctx) => {
        const videos = await playableVideos(task, () => ctx.history.copies(task.id), ctx.videoLinks);
        ctx.responseLifetime.noteVideos(videos);
        return videos;
      },
    }),
    seed: t.exposeInt('seed', { nullable: true, description: 'The seed the upstream used; reuse it for a similar result.' }),
    submittedAt: t.expose('submittedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the upstream accepted the task, when it says.',
    }),
    completedAt: t.expose('completedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the task ended, once terminal and when the upstream says.',
    }),
    watchUrl: t.string({
      description:
        "A signed URL that streams this task's taskUpdates as server-sent events, with no Authorization header: `new EventSource(watchUrl)` in a browser, listening for `next` events (each a GraphQL result whose data.taskUpdates is this Task) and a final `complete`. Valid for at least an hour from this read (a read after that gives a fresh one); a tampered link answers 404, an expired one 410. Anyone holding it can watch this task: hand it only to the page that should.",
      resolve: (task, _args, ctx) => {
        const link = ctx.watchLinks.linkFor(ctx.scope, task.id);
        ctx.responseLifetime.noteLinkExpiry(link.expiresAt);
        return link.url;
      },
    }),
    createdAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When this gateway accepted the create, from the task history; null for a task this gateway did not create (or one removed with deleteTask).',
      resolve: async (task, _args, ctx) => (await ctx.history.record(task.id))?.createdAt ?? null,
    }),
    prompt: t.string({
      nullable: true,
      description: 'The prompt the task was created with, from the task history; null for a task this gateway did not create (or one removed with deleteTask).',
      resolve: async (task, _args, ctx) => (await ctx.history.record(task.id))?.prompt ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  task: t.field({
    type: Task,
    nullable: true,
    description: "One task by id. When the video service no longer knows a task this gateway created for you, the task as your history remembers it (last status seen, the videos whose copies are held); null for an id neither knows.",
    args: { id: t.arg.id({ required: true, description: 'The task id returned by createReferenceVideo.' }) },
    resolve: (_root, { id }, ctx) => {
      const upstreamId = upstreamTaskId(id, 'id', ctx);
      // Another tenant's id looks exactly like one that does not exist, and costs no upstream call.
      return upstreamId === null ? null : ctx.readTask(upstreamId);
    },
  }),
  tasks: t.field({
    type: [Task],
    nullable: { list: false, items: true },
    description: `Several tasks at once (at most ${TASKS_MAX_IDS}), in the order asked; null for an id the video service does not know.`,
    args: {
      ids: t.arg.idList({ required: true, description: `Task ids, at most ${TASKS_MAX_IDS}; duplicates cost one read.` }),
    },
    resolve: (_root, { ids }, ctx) => {
      if (ids.length > TASKS_MAX_IDS) throw badUserInput(`ids may hold at most ${TASKS_MAX_IDS} ids.`, 'ids');
      const upstreamIds = ids.map((id, i) => upstreamTaskId(id, `ids[${i}]`, ctx));
      return upstreamIds.map((id) => (id === null ? null : ctx.readTask(id)));
    },
  }),
}));
