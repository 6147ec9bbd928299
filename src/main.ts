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
const gateway = await startGateway(config, logger);
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
