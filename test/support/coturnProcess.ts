/**
 * A real coturn for a test file (RECIPES.md "coturn"), with the shared-secret scheme Knock mints credentials for
 * (`use-auth-secret` + `static-auth-secret`), on 127.0.0.1 and a free port, stopped by its PID.
 *
 * @example
 *   const turn = await startCoturn({ secret: 'the shared secret' });
 *   ... turn.port ...
 *   await turn.stop();
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stunAnswers } from './turnClient.ts';
import { stopChild } from './childProcess.ts';
import { freePort } from './ports.ts';

const TURNSERVER = '/usr/bin/turnserver';

export interface CoturnProcess {
  host: string;
  port: number;
  realm: string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function startCoturn(options: { secret: string; realm?: string }): Promise<CoturnProcess> {
  if (!existsSync(TURNSERVER)) {
    throw new Error(`coturn is not installed (${TURNSERVER}). Run, as root: apt-get install -y --no-install-recommends coturn (npm test's pretest does it).`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-coturn-'));
  const port = await freePort();
  const realm = options.realm ?? 'knock.test';
  const logFile = path.join(dir, 'turn.log');
  const child = spawn(
    TURNSERVER,
    [
      '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`, '--min-port=49160', '--max-port=49200',
      '--use-auth-secret', `--static-auth-secret=${options.secret}`, `--realm=${realm}`,
      '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
      `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'turn.pid')}`, `--log-file=${logFile}`, '--simple-log',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => readFile(logFile, 'utf8').catch(() => '(no log)');
  const stop = async () => {
    await stopChild(child, exited);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers({ host: '127.0.0.1', port }))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = await log();
      await stop();
      throw new Error(`coturn did not start on 127.0.0.1:${port}\n${text.slice(-2000)}`);
    }
  }
  let stopped: Promise<void> | null = null;
  return { host: '127.0.0.1', port, realm, log, stop: () => (stopped ??= stop()) };
}
