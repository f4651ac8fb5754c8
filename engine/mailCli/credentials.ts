/**
 * Where `npx knock mail login` keeps what it got: the server, the handle and the device's token, in
 * `$XDG_CONFIG_HOME/knock/mail.json` (else `~/.config/knock/mail.json`), readable by its owner only (0600, in a 0700
 * directory): the token reads every conversation of the account.
 *
 * @example
 *   const file = credentialsFile({ XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, HOME: process.env.HOME });
 *   await saveCredentials(file, { url: 'https://knock.example', handle: 'alice', token: 'knd_…', id: 'd1' });
 *   const { url, token } = await loadCredentials(file);
 */
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { KnockError } from '../errors.ts';
import { readJsonFile, writeJsonFile } from './atomicFiles.ts';

const credentialsSchema = z.object({
  /** The server's origin, e.g. https://knock.example. */
  url: z.string().url(),
  handle: z.string().min(1),
  token: z.string().min(1),
  /** The device's id (what `mail logout` revokes). */
  id: z.string().min(1),
});
export type MailCredentials = z.infer<typeof credentialsSchema>;

/** The file, by the XDG Base Directory rule (a relative XDG_CONFIG_HOME is ignored, as the rule says). */
export function credentialsFile(env: { XDG_CONFIG_HOME?: string | undefined; HOME?: string | undefined }): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'knock', 'mail.json');
}

export async function loadCredentials(file: string): Promise<MailCredentials> {
  const credentials = await readJsonFile(file, credentialsSchema, 'is not a Knock mail login: run `npx knock mail login <your Knock URL>` again.');
  if (!credentials) throw new KnockError('unauthorized', 'Not logged in: run `npx knock mail login <your Knock URL>` first.');
  return credentials;
}

/** Writes the file whole or not at all, never readable by others, in a directory only its owner opens. */
export async function saveCredentials(file: string, credentials: MailCredentials): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeJsonFile(file, credentials);
}

export async function removeCredentials(file: string): Promise<void> {
  await rm(file, { force: true });
}
