// The real entry point as a user or an orchestrator runs it: a spawned process configured only by
// environment, whose first log line with a URL says where it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface GatewayProcess {
  child: ChildProcess;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:43210/graphql. */
  url: string;
}

/** A process of `src/main.ts` with exactly `env` (plus PATH), nothing inherited from the developer. */
export function spawnMain(env: Record<string, string>, stderr: 'pipe' | 'ignore' | 'inherit' = 'inherit'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../..', import.meta.url),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', stderr],
  });
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
