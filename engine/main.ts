/**
 * `npm start`: runs one Knock process on its embedded defaults (SQLite under ./data, port 8080).
 * The only place, with the CLI, that reads process.env.
 */
import { configFromEnv } from './config.ts';
import { createKnock } from './app.ts';
import { createLogger } from './logger.ts';

const config = configFromEnv(process.env);
const logger = createLogger(config.logLevel);
const knock = await createKnock(config, { logger });
await knock.listen();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'stopping');
    knock.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  });
}
