/**
 * The files `npx knock mail` writes (its login, a Maildir's messages and sync state): whole or not at all (a
 * temporary file, flushed to disk, renamed into place), readable by their owner only; JSON ones read through a schema.
 *
 * @example
 *   await writeFileAtomically(path.join(maildir, 'cur', name), eml, path.join(maildir, 'tmp', unique));
 *   const state = await readJsonFile(file, stateSchema, 'is damaged: move it away');  // null when there is none
 *   await writeJsonFile(file, state);
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename } from 'node:fs/promises';
import type { z } from 'zod';
import { KnockError } from '../errors.ts';

/** The file's value; null when there is no file; a KnockError saying `${file} ${damaged}` when it is not one of `schema`. */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S, damaged: string): Promise<z.infer<S> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let value: unknown = null;
  try {
    value = JSON.parse(text);
  } catch {
    // damaged: said below
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KnockError('bad_request', `${file} ${damaged}`);
  return parsed.data;
}

export function writeJsonFile(file: string, value: unknown): Promise<void> {
  return writeFileAtomically(file, Buffer.from(`${JSON.stringify(value, null, 2)}\n`));
}

/** Writes `bytes` at `temporary` (default: beside `file`), flushes them, then renames it to `file`. */
export async function writeFileAtomically(file: string, bytes: Buffer, temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`): Promise<void> {
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The mode given to open is masked by the umask: set it as meant.
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
