// Every gateway a test starts keeps its task history in a folder of its own: never the checkout's
// ./data (shared by every run), never another test's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gateway-test-'));
}

/** A fresh folder, removed once the current test has finished (after its afterEach hooks). */
export function dataDirForThisTest(): string {
  const dir = freshDataDir();
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
