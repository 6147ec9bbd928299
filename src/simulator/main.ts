// Runs the simulator on its own (`npm run simulator`), so a gateway, a benchmark or curl can talk to
// it. Settings: SIMULATOR_HOST, SIMULATOR_PORT, SIMULATOR_API_KEY, SIMULATOR_TASK_DURATION_MS.
import { ConfigError, loadConfig, type Config } from '../config.js';
import { startSimulator, type Simulator } from './server.js';
import { FAIL_MARKER } from './tasks.js';

function readConfig(): Config {
  try {
    return loadConfig(process.env, { role: 'simulator' });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const { simulator: settings } = readConfig();

async function start(): Promise<Simulator> {
  try {
    return await startSimulator(settings);
  } catch (error) {
    // Typically EADDRINUSE: one line is enough to act on.
    process.stderr.write(`Cannot start the simulator on ${settings.host}:${settings.port}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

const simulator = await start();

process.stdout.write(
  [
    `Upstream simulator listening on ${simulator.url}`,
    `Accepted API key: ${simulator.apiKey}`,
    `Tasks finish ${settings.taskDurationMs} ms after creation; a prompt containing ${FAIL_MARKER} makes one fail.`,
    '',
    'Point a gateway at it:',
    `  UPSTREAM_BASE_URL=${simulator.url} UPSTREAM_API_KEY=${simulator.apiKey} npm start`,
    '',
  ].join('\n'),
);

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    // A second Ctrl-C means "now".
    process.exit(1);
  }
  stopping = true;
  process.stdout.write(`${signal}: stopping the simulator\n`);
  simulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`Error while stopping the simulator: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
