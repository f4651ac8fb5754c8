/**
 * An account's own data from the command line (issue 22), for a server's operators: `knock user export <handle>
 * --out <file.zip>` (what Settings → "Export my data" downloads) and `knock user remove <handle>` (Settings → "Delete
 * account"; its files' blobs go too, unless another account's file uses the same bytes). Both on the database and
 * the file store alone, beside running servers: those close a removed account's sockets within seconds
 * (engine/sessionWatch.ts).
 *
 * @example
 *   npx knock user export alice --out alice.zip
 *   npx knock user remove alice
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { AccountExport } from './accountExport.ts';
import { AccountRemoval } from './accountRemoval.ts';
import { AuditLog, CLI_CONTEXT } from './auditLog.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Blobs } from './ports/blobs.ts';
import { systemClock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';

async function accountOf(storage: Storage, handle: string | undefined, usage: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `user ${usage} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

/** Writes the account's zip to `outFile`, which must not exist yet (an export is never written over a file). */
export async function exportAccount(storage: Storage, blobs: Blobs, logger: Logger, handle: string | undefined, outFile: string | undefined, out: NodeJS.WritableStream): Promise<number> {
  const account = await accountOf(storage, handle, 'export');
  if (!outFile) throw new KnockError('bad_request', 'user export needs --out <file.zip>.');
  const file = createWriteStream(outFile, { flags: 'wx' });
  const opened = new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', reject);
  });
  await opened.catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KnockError('bad_request', code === 'EEXIST' ? `${outFile} exists already: give another --out.` : `${outFile} cannot be written (${code ?? String(err)}).`);
  });
  await new AuditLog({ storage, clock: systemClock, logger }).record(account.id, 'data.exported', CLI_CONTEXT);
  await pipeline(new AccountExport({ storage, blobs, clock: systemClock, logger }).zip(account), file);
  out.write(`Exported ${account.handle} to ${outFile}.\n`);
  return 0;
}

export async function removeAccount(storage: Storage, blobs: Blobs, logger: Logger, handle: string | undefined, out: NodeJS.WritableStream): Promise<number> {
  const account = await accountOf(storage, handle, 'remove');
  const removed = await new AccountRemoval({ storage, blobs, hub: null, logger }).remove(account);
  out.write(`Removed ${account.handle} and all of its conversations (${removed.conversations}) and files (${removed.blobs} deleted).\n`);
  return 0;
}
