/**
 * Settings → Phone number from the command line (issue 20), for a server's operators: `knock phone set|remove|list`.
 * Like the rest of engine/cli.ts it works on the database alone, so it sends no code: the operator vouches for the
 * number (as `knock channel add` does for an address). Setting a number someone else holds moves it, as a claim does.
 *
 * @example
 *   npx knock phone set alice "+1 (555) 123-4567"    # /+15551234567 is Alice's URL too
 *   npx knock phone list
 *   npx knock phone remove alice
 */
import { KnockError } from './errors.ts';
import { parsePhone, showPhone } from './phoneNumbers.ts';
import { systemClock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';

export const PHONE_USAGE = `  knock phone set <handle> <number>
  knock phone remove <handle>
  knock phone list`;

async function accountOf(storage: Storage, handle: string | undefined, usage: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `phone ${usage} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

export async function phoneCommand(storage: Storage, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  switch (command) {
    case 'set': {
      const [handle, typed] = args;
      const account = await accountOf(storage, handle, 'set');
      const phone = typed === undefined ? null : parsePhone(typed);
      if (!phone) throw new KnockError('bad_request', 'phone set needs <handle> and a number in international form (+1 555 123 4567).');
      const held = await storage.getPhoneNumber(phone.e164);
      await storage.assignPhoneNumber(account.id, phone.e164, systemClock.now());
      const from = held && held.accountId !== account.id ? ` (moved from ${(await storage.getAccountById(held.accountId))?.handle ?? 'another account'})` : '';
      out.write(`${phone.display} is ${account.handle}'s number${from}: /${phone.e164}\n`);
      return 0;
    }
    case 'remove': {
      const account = await accountOf(storage, args[0], 'remove');
      if (!(await storage.releasePhoneNumber(account.id))) throw new KnockError('not_found', `${account.handle} has no phone number.`);
      out.write(`${account.handle} has no phone number now.\n`);
      return 0;
    }
    case 'list': {
      for (const number of await storage.listPhoneNumbers()) {
        const account = await storage.getAccountById(number.accountId);
        out.write(`${number.number}\t${showPhone(number.number).display}\t${account?.handle ?? '?'}\t${new Date(number.claimedAt).toISOString()}\n`);
      }
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command: phone ${command}. Try:\n${PHONE_USAGE}`);
  }
}
