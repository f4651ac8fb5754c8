/**
 * The operators' CLI (engine/bin/knock.mjs) as a real child process, with only the environment given (the data
 * directory, or DATABASE_URL and KNOCK_DATABASE_SCHEMA), as an operator runs it beside running servers.
 *
 * @example
 *   const run = await knockCli(['user', 'passwd', 'alice', '--password-stdin'], { KNOCK_DATA_DIR: dir }, 'new password\n');
 *   expect(run.code).toBe(0);
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(root, 'engine/bin/knock.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `knock ...args` with `env` (plus PATH and HOME), `stdin` written to its standard input. */
export function knockCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
