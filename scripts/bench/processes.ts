// Child processes for the benchmark: each on its own event loop, as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const root = new URL('../..', import.meta.url);

export interface Child {
  process: ChildProcess;
  /** The first URL the child printed (plain or in a JSON log line). */
  url: string;
  /** Peak resident set size so far, in MiB (Linux VmHWM). */
  peakRssMiB(): number;
  /** Resident set size now, in MiB (Linux VmRSS). */
  rssMiB(): number;
  /** Starts a new peak from the current RSS (Linux clear_refs); false where that is not possible. */
  resetPeakRss(): boolean;
  stop(): Promise<void>;
}

/** One memory line of /proc/<pid>/status, in MiB (0 where there is no /proc). */
function statusMiB(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** `nodeArgs`: extra Node flags (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
export async function startChild(script: string, env: Record<string, string>, urlPattern: RegExp, nodeArgs: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const printed = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = urlPattern.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before printing its URL`)));
    setTimeout(() => reject(new Error(`${script} printed no URL within 20 s`)), 20_000).unref();
  });
  let url: string;
  try {
    url = await printed;
  } catch (error) {
    // Not left running (a child whose stderr is ours would also keep a piped bench output open).
    child.kill('SIGKILL');
    throw error;
  }
  child.stdout!.resume();
  return {
    process: child,
    url,
    peakRssMiB: () => statusMiB(child.pid, 'VmHWM'),
    rssMiB: () => statusMiB(child.pid, 'VmRSS'),
    resetPeakRss() {
      try {
        // "5" resets the peak RSS (VmHWM) to the current RSS: see proc(5), /proc/pid/clear_refs.
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
