/**
 * `npm start`: runs one Knock process, on its embedded defaults (SQLite under ./data, port 8080) or as one of several
 * (DATABASE_URL, REDIS_URL, KNOCK_PUBLIC_ADDRESS: README "Running several processes"). Built ahead of time into
 * engine/dist/main.mjs (engine/build.mjs); `npm start` runs that.
 * The only place, with the CLI, that reads process.env.
 *
 * SIGTERM or SIGINT stops it within KNOCK_SHUTDOWN_TIMEOUT_MS (engine/shutdown.ts): rooms close and store their last
 * writes, clients are told to reconnect, the database closes; exit code 0. Whatever is still pending at the deadline
 * is logged, and the exit code is 1.
 */
import { configFromEnv, type KnockConfig } from './config.ts';
import { createKnock } from './app.ts';
import { KnockError } from './errors.ts';
import { ProcessLog } from './logger.ts';
import { closeWithin, startExitWatchdog } from './shutdown.ts';

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

/** The end of the stop kept for writing the last log lines (what was pending, "Knock stopped"). */
const logReserveMs = Math.min(500, Math.floor(config.shutdownTimeoutMs / 10));

async function stop(signal: NodeJS.Signals): Promise<never> {
  const timeoutMs = config.shutdownTimeoutMs;
  startExitWatchdog(timeoutMs);
  logger.info({ signal, timeoutMs }, 'stopping');
  const result = await closeWithin(knock, timeoutMs - logReserveMs);
  if (!result.clean) {
    logger.error({ err: result.error, pending: result.pending, afterMs: result.ms }, `stopping did not finish within ${timeoutMs - logReserveMs} ms; exiting`);
  }
  await log.flush(logReserveMs);
  process.exit(result.clean ? 0 : 1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal changes nothing: the stop is bounded already (KNOCK_SHUTDOWN_TIMEOUT_MS), and exiting at once
    // would drop what rooms have not stored yet (a document's last changes). SIGKILL is for whoever cannot wait.
    if (stopping) {
      logger.info({ signal }, 'already stopping');
      return;
    }
    stopping = true;
    void stop(signal);
  });
}
