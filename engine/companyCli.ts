/**
 * Live help for companies from the command line (issue 19), for the server's operator: `knock company add|list`,
 * `knock operator add|remove|list`, `knock site add|remove|list` and `knock canned add|remove|list`. Every change goes through engine/companies.ts,
 * as the console's Settings → Company does, so both refuse the same things (the last admin, a site with a path, ...).
 *
 * @example
 *   npx knock company add acme --name "Acme Ltd" --admin ann --email help@acme.example
 *   npx knock operator add acme bob --capacity 2
 *   npx knock site add acme https://shop.example
 *   npx knock canned add acme hello "Hello! How can we help?"
 */
import { siteOrigin, type Companies } from './companies.ts';
import { KnockError } from './errors.ts';
import type { OperatorRole } from './ports/storage.ts';

export const COMPANY_USAGE = `  knock company add <handle> --name "<name>" --admin <handle> [--email <address>]
  knock company list
  knock operator add <company> <handle> [--role admin|operator] [--capacity <chats at once>]
  knock operator remove <company> <handle>
  knock operator list <company>
  knock site add|remove <company> <origin, e.g. https://shop.example>
  knock site list <company>
  knock canned add <company> <shortcut> "<response>"
  knock canned remove <company> <shortcut>
  knock canned list <company>`;

/** The groups of commands this file answers. */
export const COMPANY_GROUPS = ['company', 'operator', 'site', 'canned'] as const;
export type CompanyGroup = (typeof COMPANY_GROUPS)[number];

export interface CompanyOptions {
  name?: string | undefined;
  admin?: string | undefined;
  email?: string | undefined;
  role?: string | undefined;
  capacity?: string | undefined;
}

/**
 * Runs `knock <group> <command> <args>`; resolves with the exit code (0), or throws a KnockError whose message the CLI
 * prints (exit code 1).
 */
export function companyCommand(
  companies: Companies,
  group: CompanyGroup,
  command: string,
  args: readonly string[],
  options: CompanyOptions,
  out: NodeJS.WritableStream,
): Promise<number> {
  switch (group) {
    case 'company':
      return company(companies, command, args, options, out);
    case 'operator':
      return operator(companies, command, args, options, out);
    case 'site':
      return site(companies, command, args, out);
    case 'canned':
      return canned(companies, command, args, out);
  }
}

async function company(companies: Companies, command: string, args: readonly string[], options: CompanyOptions, out: NodeJS.WritableStream): Promise<number> {
  switch (command) {
    case 'add': {
      const [handle] = args;
      if (!handle || options.name === undefined || options.admin === undefined) {
        throw new KnockError('bad_request', 'company add needs <handle>, --name "<name>" and --admin <handle>.');
      }
      const account = await companies.add({
        handle, name: options.name, adminHandle: options.admin, ...(options.email === undefined ? {} : { email: options.email }),
      });
      const mail = options.email === undefined ? '' : `; offline messages go to ${options.email}`;
      out.write(`Added company ${account.handle} (${account.displayName}), admin ${options.admin}${mail}.\n`);
      return 0;
    }
    case 'list': {
      for (const c of await companies.list()) {
        out.write(`${c.account.handle}\t${c.account.displayName}\t${count(c.operators, 'operator')}\t${count(c.sites, 'site')}\n`);
      }
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "company ${command}".`);
  }
}

async function operator(companies: Companies, command: string, args: readonly string[], options: CompanyOptions, out: NodeJS.WritableStream): Promise<number> {
  const [companyHandle, handle] = args;
  switch (command) {
    case 'add': {
      if (!companyHandle || !handle) throw new KnockError('bad_request', 'operator add needs <company> <handle>.');
      const added = await companies.addOperator(companyHandle, handle, {
        ...(options.role === undefined ? {} : { role: roleOf(options.role) }),
        ...(options.capacity === undefined ? {} : { capacity: capacityOf(options.capacity) }),
      });
      out.write(`${added.handle} is ${added.role === 'admin' ? 'an admin' : 'an operator'} of ${companyHandle}, ${count(added.capacity, 'chat')} at once.\n`);
      return 0;
    }
    case 'remove': {
      if (!companyHandle || !handle) throw new KnockError('bad_request', 'operator remove needs <company> <handle>.');
      if (!(await companies.removeOperator(companyHandle, handle))) throw new KnockError('not_found', `${handle} is not an operator of ${companyHandle}.`);
      out.write(`Removed ${handle} from ${companyHandle}.\n`);
      return 0;
    }
    case 'list': {
      if (!companyHandle) throw new KnockError('bad_request', 'operator list needs <company>.');
      for (const o of await companies.listOperators(companyHandle)) {
        out.write(`${o.handle}\t${o.displayName}\t${o.role}\t${o.status}\t${count(o.capacity, 'chat')}\n`);
      }
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "operator ${command}".`);
  }
}

async function site(companies: Companies, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const [companyHandle, origin] = args;
  switch (command) {
    case 'add':
    case 'remove': {
      if (!companyHandle || !origin) throw new KnockError('bad_request', `site ${command} needs <company> <origin>.`);
      const shown = siteOrigin(origin); // as it is stored and matched: https://Shop.Example/ is https://shop.example
      if (command === 'add') {
        const added = await companies.addSite(companyHandle, origin);
        out.write(added ? `${companyHandle}'s widget may now be embedded on ${shown}.\n` : `${shown} was already one of ${companyHandle}'s sites.\n`);
        return 0;
      }
      if (!(await companies.removeSite(companyHandle, origin))) throw new KnockError('not_found', `${shown} is not one of ${companyHandle}'s sites.`);
      out.write(`Removed ${shown} from ${companyHandle}'s sites.\n`);
      return 0;
    }
    case 'list': {
      if (!companyHandle) throw new KnockError('bad_request', 'site list needs <company>.');
      for (const s of await companies.listSites(companyHandle)) out.write(`${s.origin}\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "site ${command}".`);
  }
}

async function canned(companies: Companies, command: string, args: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const [companyHandle, shortcut, text] = args;
  switch (command) {
    case 'add': {
      if (!companyHandle || !shortcut || text === undefined || args.length > 3) {
        throw new KnockError('bad_request', 'canned add needs <company> <shortcut> "<response>" (quote the response).');
      }
      const saved = await companies.setCanned(companyHandle, shortcut, text);
      out.write(`/${saved.shortcut} in ${companyHandle}'s console now inserts: ${saved.text}\n`);
      return 0;
    }
    case 'remove': {
      if (!companyHandle || !shortcut) throw new KnockError('bad_request', 'canned remove needs <company> <shortcut>.');
      if (!(await companies.removeCanned(companyHandle, shortcut))) throw new KnockError('not_found', `${companyHandle} has no canned response /${shortcut.replace(/^\//, '')}.`);
      out.write(`Removed /${shortcut.replace(/^\//, '')} from ${companyHandle}'s canned responses.\n`);
      return 0;
    }
    case 'list': {
      if (!companyHandle) throw new KnockError('bad_request', 'canned list needs <company>.');
      for (const c of await companies.listCanned(companyHandle)) out.write(`/${c.shortcut}\t${c.text.replace(/\n/g, ' ')}\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "canned ${command}".`);
  }
}

function roleOf(text: string): OperatorRole {
  if (text === 'admin' || text === 'operator') return text;
  throw new KnockError('bad_request', '--role is admin or operator.');
}

/** A whole number as typed; its range is the Companies' to check. */
function capacityOf(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw new KnockError('bad_request', '--capacity is a whole number of chats at once, from 1 to 50.');
  return Number(text);
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
