// The real entry point as a user or an orchestrator runs it: a spawned process configured only by
// environment, whose first log line with a URL says where it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { freshDataDir } from './data-dir.js';

export interface GatewayProcess {
  child: ChildProcess;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:43210/graphql. */
  url: string;
}

/**
 * A process of `src/main.ts` with exactly `env` (plus PATH), nothing inherited from the developer.
 * Unless `env` names a DATA_DIR, the process gets a fresh one, removed when it exits.
 */
export function spawnMain(env: Record<string, string>, stderr: 'pipe' | 'ignore' | 'inherit' = 'inherit'): ChildProcess {
  const ownDataDir = env.DATA_DIR === undefined ? freshDataDir() : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url),
    env: { PATH: process.env.PATH ?? '', ...(ownDataDir === undefined ? {} : { DATA_DIR: ownDataDir }), ...env },
    stdio: ['ignore', 'pipe', stderr],
  });
  if (ownDataDir !== undefined) child.once('exit', () => rmSync(ownDataDir, { recursive: true, force: true }));
  return child;
}

/** Starts the gateway and waits until it logs its URL. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawnMain({ HOST: '127.0.0.1', PORT: '0', ...env }, 'ignore');
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = (JSON.parse(line) as { url?: string }).url;
    if (url) {
      child.stdout!.resume();
      return { child, url };
    }
  }
  throw new Error('the gateway exited without printing its URL');
}
