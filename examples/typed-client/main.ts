// Runs the typed client against a gateway: `npm start` in one terminal, then
//   npx tsx examples/typed-client/main.ts
// Settings (all optional): GATEWAY_URL (default http://localhost:4000/graphql), GATEWAY_API_KEY
// (a client key, when the gateway has GATEWAY_API_KEYS), SEND=persisted-id (send only persisted
// ids, for a gateway in trusted-documents mode), PROMPT.
import { pathToFileURL } from 'node:url';
import { createAndFollowVideo, type FollowedVideo } from './follow-video.js';

export async function main(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.log): Promise<FollowedVideo> {
  const send = env.SEND === 'persisted-id' ? 'persisted-id' : 'document';
  const followed = await createAndFollowVideo({
    url: env.GATEWAY_URL ?? 'http://localhost:4000/graphql',
    ...(env.GATEWAY_API_KEY ? { apiKey: env.GATEWAY_API_KEY } : {}),
    send,
    input: {
      prompt: env.PROMPT ?? '@1 waves at the camera, then @2 rolls past',
      subjects: [
        { id: '1', images: ['https://example.com/alice.png'] },
        { id: '2', images: ['https://example.com/ball.png'] },
      ],
      resolution: 'RES_720P',
      aspectRatio: 'RATIO_16_9',
      durationSeconds: 4,
    },
    onUpdate: (update) => log(update.progressPercent === null ? update.status : `${update.status} ${update.progressPercent}%`),
  });
  const { task } = followed;
  if (task.status === 'SUCCEEDED') for (const video of task.videos) log(`video (${video.format}, until ${video.expiresAt}): ${video.url}`);
  else log(`task ${task.id} ended ${task.status}: ${task.failureReason ?? 'no reason given'}`);
  return followed;
}

// Run when started as a script, not when a test imports main().
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
