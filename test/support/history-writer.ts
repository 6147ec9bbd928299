// A process that records tasks into the SQLite history under DATA_DIR (argv[2]) as fast as it can,
// printing each task id on its own line once `record` has resolved. The durability test kills it
// with SIGKILL at some moment and then looks for every id it printed.
import { openTaskHistory } from '../../src/history/open-task-history.js';
import { createLogger } from '../../src/logger.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: history-writer.ts <data dir>');
const history = await openTaskHistory({ dataDir, databaseUrl: undefined, logger: createLogger({ logLevel: 'silent' }) });
for (let index = 0; ; index += 1) {
  const taskId = `killed-writer-${index}`;
  await history.record({ owner: 'tenant-durable', taskId, prompt: `prompt ${index}`, createdAt: new Date() });
  // Synchronous on a pipe (Linux): once this returns, the line is the parent's to read.
  process.stdout.write(`${taskId}\n`);
}
