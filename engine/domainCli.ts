/**
 * Settings → Domains from the command line (issue 21), for a server's operators: `knock domain add|list|remove|check`.
 * It does what Settings does, on the database alone plus a DNS lookup: a domain added here gets its DKIM key, is
 * checked for its delegation through KNOCK_DNS_CHECK_RESOLVER (else the system's resolver), and stays pending until
 * its NS records name Knock's name servers (KNOCK_DNS_NAMESERVERS); the running servers check pending domains too.
 *
 * @example
 *   npx knock domain add alice alice.example    # prints the NS records to set at the registrar
 *   npx knock domain list
 *   npx knock domain check alice.example
 */
import type { Domains } from './domains.ts';
import { normalizeDomain } from './domains.ts';
import { KnockError } from './errors.ts';
import type { Account, Domain, Storage } from './ports/storage.ts';

export const DOMAIN_USAGE = `  knock domain add <handle> <domain>
  knock domain list [<handle>]
  knock domain check <domain>
  knock domain remove <handle> <domain>`;

async function accountOf(storage: Storage, handle: string | undefined, usage: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `domain ${usage} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

function stateLine(d: Domain): string {
  if (d.state === 'active') return `${d.name} is active.`;
  return `${d.name} is pending: ${d.checkError ?? 'not checked yet'}`;
}

export async function domainCommand(storage: Storage, domains: Domains, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  switch (command) {
    case 'add': {
      const [handle, typed] = args;
      const account = await accountOf(storage, handle, 'add');
      if (typed === undefined) throw new KnockError('bad_request', 'domain add needs <handle> <domain>.');
      const domain = await domains.add(account, typed);
      out.write(`Added ${domain.name} for ${account.handle}. At the registrar, set its name servers (NS records) to:\n`);
      for (const ns of domains.nameservers) out.write(`  ${domain.name}. NS ${ns.replace(/\.?$/, '.')}\n`);
      out.write(`${stateLine(domain)}\n`);
      return 0;
    }
    case 'list': {
      const account = args[0] === undefined ? null : await accountOf(storage, args[0], 'list');
      const list = account ? await storage.domainsOf(account.id) : await storage.listDomains();
      for (const d of list) {
        const owner = account ?? (await storage.getAccountById(d.accountId));
        const checked = d.checkedAt === null ? 'not checked' : new Date(d.checkedAt).toISOString();
        out.write(`${d.name}\t${owner?.handle ?? '?'}\t${d.state}\t${checked}\t${d.checkError ?? ''}\n`);
      }
      return 0;
    }
    case 'check': {
      const name = args[0] === undefined ? null : normalizeDomain(args[0]);
      if (name === null || !(await storage.getDomain(name))) throw new KnockError('not_found', `There is no domain "${args[0] ?? ''}" here.`);
      const checked = await domains.check(name);
      out.write(`${checked ? stateLine(checked) : `${name} is gone.`}\n`);
      return 0;
    }
    case 'remove': {
      const [handle, typed] = args;
      const account = await accountOf(storage, handle, 'remove');
      await domains.remove(account, typed ?? '');
      out.write(`Removed ${normalizeDomain(typed ?? '') ?? typed} from ${account.handle}.\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command: domain ${command}. Try:\n${DOMAIN_USAGE}`);
  }
}
