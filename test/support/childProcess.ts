/**
 * Stopping a real peer the tests started (Janus, coturn, Pebble): SIGTERM, then SIGKILL if it has not exited within
 * 5 s, and wait until it has. Harmless when it has exited already.
 *
 * @example
 *   const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
 *   await stopChild(child, exited);
 */
import type { ChildProcess } from 'node:child_process';

export async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}
