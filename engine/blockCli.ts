/**
 * Settings → Blocked visitors from the command line (issue 22), for a server's operators: `knock block list|remove`.
 * Like the rest of engine/cli.ts it works on the database alone; a block removed here holds in every running server
 * from the visitor's next knock or message (the rooms ask storage each time: engine/visitorBlocks.ts). The removal is
 * recorded in the account's audit log, as from the CLI.
 *
 * @example
 *   npx knock block list alice
 *   npx knock block remove alice 3fJx...   # the id the list shows
 */
import { AuditLog, CLI_CONTEXT } from './auditLog.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import { systemClock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';
import { VisitorBlocks } from './visitorBlocks.ts';

export const BLOCK_USAGE = `  knock block list <handle>
  knock block remove <handle> <block id>`;

async function accountOf(storage: Storage, handle: string | undefined, usage: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `block ${usage} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

export async function blockCommand(storage: Storage, logger: Logger, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const blocks = new VisitorBlocks({ storage, audit: new AuditLog({ storage, clock: systemClock, logger }), clock: systemClock, logger });
  switch (command) {
    case 'list': {
      const account = await accountOf(storage, args[0], 'list');
      for (const block of await blocks.records(await blocks.list(account.id))) {
        const address = block.addressUntil === null ? 'no address' : block.addressUntil > systemClock.now() ? `address until ${new Date(block.addressUntil).toISOString()}` : 'address expired';
        out.write(`${block.id}\t${block.visitorName || '(no name)'}\t${new Date(block.createdAt).toISOString()}\t${address}\t${block.blockedBy ?? '-'}\n`);
      }
      return 0;
    }
    case 'remove': {
      const account = await accountOf(storage, args[0], 'remove');
      const id = args[1];
      if (!id) throw new KnockError('bad_request', 'block remove needs <handle> <block id> (see knock block list).');
      const removed = await blocks.unblock(account.id, id, { accountId: null, context: CLI_CONTEXT }).catch((err: unknown) => {
        throw err instanceof KnockError && err.code === 'not_found' ? new KnockError('not_found', `${account.handle} has no block "${id}".`) : err;
      });
      out.write(`Unblocked ${removed.visitorName || 'the visitor'} for ${account.handle}.\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command: block ${command}. Try:\n${BLOCK_USAGE}`);
  }
}
