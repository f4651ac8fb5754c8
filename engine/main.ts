/**
 * `npm start`: runs one Knock process, on its embedded defaults (SQLite under ./data, port 8080) or as one of several
 * (DATABASE_URL, REDIS_URL, KNOCK_PUBLIC_ADDRESS: README "Running several processes").
 * The only place, with the CLI, that reads process.env.
 */
import { configFromEnv, type KnockConfig } from './config.ts';
import { createKnock } from './app.ts';
import { KnockError } from './errors.ts';
import { ProcessLog } from './logger.ts';

let config: KnockConfig;
try {
  config = configFromEnv(process.env);
} catch (err) {
  // A setting the operator must fix: say which, without a stack trace.
  if (!(err instanceof KnockError)) throw err;
  process.stderr.write(`knock: ${err.message}\n`);
  process.exit(78); // EX_CONFIG
}
const log = new ProcessLog(config.logLevel);
const { logger } = log;
const knock = await createKnock(config, { logger });
await knock.listen();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'stopping');
    knock.close().then(
      async () => {
        await log.flush(500);
        process.exit(0);
      },
      async (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        await log.flush(500);
        process.exit(1);
      },
    );
  });
}
