// Entry point: read config, start the gateway, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startGateway } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

// The upstream key is censored from every line as a last line of defence; nothing should log it anyway.
const logger = createLogger(config, undefined, { secrets: [config.upstream.apiKey] });
let gateway: Awaited<ReturnType<typeof startGateway>>;
try {
  gateway = await startGateway(config, logger);
} catch (error) {
  // One line, like a configuration error; the port is the one start-up failure users meet often.
  const code = (error as { code?: unknown }).code;
  console.error(
    code === 'EADDRINUSE'
      ? `Cannot start: PORT ${config.port} on ${config.host} is already in use (set PORT to another port).`
      : `Cannot start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
  );
  process.exit(1);
}
logger.info({ url: `${gateway.url}/graphql` }, `GraphQL and GraphiQL at ${gateway.url}/graphql`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway.close().then(
      ({ cutOff }) => {
        logger.info({ cutOff }, 'stopped');
        process.exit(cutOff ? 1 : 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
