// Stored-video serving of `npm run bench` (part of BENCH_ONLY=history): the gateway answering GETs
// at a stored copy's signed link (stored-video-route.ts: link check, headers, then the folder store's
// `send`), against a bare node:http server handing the same file to `send` alone with the same
// options (send-floor-server.ts). The copy is the gateway's own: a task created through it, read
// until its video reads `stored: true` (a read that sees SUCCEEDED offers the task for copying;
// VIDEO_COPY_CONCURRENCY stays at its default, 2). Same connections and duration on both sides.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { STORED_VIDEO_PREFIX } from '../../src/videos/video-links.js';
import { measuredLoad, type LoadRow, type LoadSettings } from './measured-load.js';
import { postGraphQL, startGatewayChild, startSimulatorChild, URL_IN_LOG } from './pair.js';
import { startChild } from './processes.js';

/**
 * The one setting these bench gateways change (default 30 s). The copier can leave a task it was
 * offered until its next rescan: an offer that comes in while a scan's claim query is in flight finds
 * every slot reserved, and that scan then ends on claiming nothing (video-copier.ts); the bench waits
 * for copies before it measures. A rescan is one indexed claim query a second, nothing beside the load.
 */
export const BENCH_GATEWAY_COPY_ENV = { VIDEO_COPY_RESCAN_INTERVAL_MS: '1000' };
/** The simulated task finishes this fast, so its copy exists within seconds. */
const SIMULATED_TASK_MS = 1_000;
const STORED_TIMEOUT_MS = 60_000;
/** The folder store's directory under DATA_DIR (open-video-store.ts). */
const VIDEO_FOLDER = 'videos';
const RANGE = 'bytes=0-65535';
const RANGE_END = 65_535;

const CREATE = 'mutation Create($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { message } } }';
const READ = 'query Read($id: ID!) { task(id: $id) { status videos { url stored } } }';

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const { statusCode, text } = await postGraphQL(url, query, variables);
  const json = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (statusCode !== 200 || json.errors !== undefined || json.data === undefined) throw new Error(`stored-video bench: ${statusCode} ${text.slice(0, 300)}`);
  return json.data;
}

/** Creates a task and reads it until its first video is stored; returns that video's signed link. */
async function storedVideoLink(gatewayUrl: string): Promise<string> {
  const input = { prompt: '@1 a video to store', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
  const { createReferenceVideo } = await graphql<{ createReferenceVideo: { taskId: string | null } }>(gatewayUrl, CREATE, { input });
  const id = createReferenceVideo.taskId;
  if (id === null) throw new Error('stored-video bench: the create was refused');
  const started = performance.now();
  for (;;) {
    const { task } = await graphql<{ task: { status: string; videos: { url: string; stored: boolean }[] } | null }>(gatewayUrl, READ, { id });
    const video = task?.videos[0];
    if (video?.stored) return video.url;
    if (performance.now() - started > STORED_TIMEOUT_MS) throw new Error(`stored-video bench: no stored copy within ${STORED_TIMEOUT_MS} ms (task ${task?.status})`);
    await sleep(250);
  }
}

/** One GET, checked: the status, the byte count and the type each server must answer with. */
async function checkAnswer(url: string, headers: Record<string, string>, status: number, bytes: number): Promise<void> {
  const response = await request(url, { headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const body = Buffer.from(await response.body.arrayBuffer());
  const type = response.headers['content-type'];
  if (response.statusCode !== status || body.length !== bytes || type !== 'video/mp4') {
    throw new Error(`stored-video bench: ${url.split('?')[0]} ${JSON.stringify(headers)}: ${response.statusCode} ${type} ${body.length} bytes, expected ${status} video/mp4 ${bytes} bytes`);
  }
}

function ratio(a: number, b: number): number {
  return Number((a / b).toFixed(2));
}

export async function storedVideoServing(settings: LoadSettings) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-bench-videos-'));
  const simulator = await startSimulatorChild(SIMULATED_TASK_MS);
  try {
    const gateway = await startGatewayChild(simulator.url, { DATA_DIR: dataDir, ...BENCH_GATEWAY_COPY_ENV });
    try {
      const link = await storedVideoLink(gateway.url);
      const key = new URL(link).pathname.slice(STORED_VIDEO_PREFIX.length);
      const videoDirectory = join(dataDir, VIDEO_FOLDER);
      const fileBytes = statSync(join(videoDirectory, key)).size;
      const rangeBytes = Math.min(RANGE_END + 1, fileBytes);
      const floor = await startChild('scripts/bench/send-floor-server.ts', { VIDEO_DIRECTORY: videoDirectory }, URL_IN_LOG);
      try {
        const sendUrl = `${floor.url}/${key}`;
        const range = { range: RANGE };
        for (const url of [link, sendUrl]) {
          await checkAnswer(url, {}, 200, fileBytes);
          await checkAnswer(url, range, 206, rangeBytes);
        }
        const rows: LoadRow[] = [
          await measuredLoad('send alone: GET, whole file', { url: sendUrl }, { status: 200 }, settings),
          await measuredLoad(`send alone: GET, Range: ${RANGE}`, { url: sendUrl, headers: range }, { status: 206 }, settings),
          await measuredLoad('gateway: GET signed link, whole file', { url: link }, { status: 200 }, settings),
          await measuredLoad(`gateway: GET signed link, Range: ${RANGE}`, { url: link, headers: range }, { status: 206 }, settings),
        ];
        const [sendWhole, sendRange, gatewayWhole, gatewayRange] = rows.map((row) => row.requestsPerSecond) as [number, number, number, number];
        return {
          fileBytes,
          rangeBytes,
          rows,
          ratios: { wholeFileGatewayOverSend: ratio(gatewayWhole, sendWhole), rangeGatewayOverSend: ratio(gatewayRange, sendRange) },
          gatewayPeakRssMiB: Math.round(gateway.peakRssMiB()),
        };
      } finally {
        await floor.stop();
      }
    } finally {
      await gateway.stop();
    }
  } finally {
    await simulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
