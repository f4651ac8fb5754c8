/**
 * Companies (issue 19): the one place the CLI (engine/companyCli.ts) and the HTTP API change them. A company is an
 * account nobody logs in as (its password hash is NO_LOGIN_PASSWORD_HASH); its operators are person accounts with a
 * role (admin or operator) and a capacity; its sites are the origins allowed to embed its widget. Everything here is
 * checked (names, roles, origins, the last admin) before anything is stored; authorization of who may call what is the
 * caller's (the CLI is the server's operator; the API checks the session's operator role).
 *
 * @example
 *   const companies = new Companies({ storage, accounts: new Accounts(storage, clock), clock });
 *   await companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ann', email: 'help@acme.example' });
 *   await companies.addSite('acme', 'https://Shop.Example/'); // stored as https://shop.example
 */
import { z } from 'zod';
import type { Accounts } from './accounts.ts';
import { newSecret, secretHash } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, CannedResponse, Company, Operator, OperatorRole, Site, Storage } from './ports/storage.ts';
import { cannedShortcutSchema, cannedTextSchema, describeIssues, emailSchema, operatorRecord, siteOriginSchema } from './protocol.ts';

export interface CompaniesDeps {
  storage: Storage;
  accounts: Accounts;
  clock: Clock;
  /**
   * This Knock's own mail domain (config.ts mailDomainOf): a company's address there is refused, as in
   * `knock user email` (its notifications would come back in as mail). Absent: not checked.
   */
  mailDomain?: string;
}

/** Chats at once of an operator added without saying (the issue's default). */
export const DEFAULT_CAPACITY = 3;
/** How long an invitation link works. */
export const INVITE_TTL_MS = 7 * 24 * 3600_000;

/** The roles and capacities Settings → Company shows and takes (protocol.ts operatorRecord). */
function operatorRole(role: unknown): OperatorRole {
  const parsed = operatorRecord.shape.role.safeParse(role);
  if (!parsed.success) throw new KnockError('bad_request', `The role is admin or operator, not "${String(role)}".`);
  return parsed.data;
}

function operatorCapacity(capacity: unknown): number {
  const parsed = operatorRecord.shape.capacity.safeParse(capacity);
  if (!parsed.success) throw new KnockError('bad_request', 'The capacity is a whole number of chats at once, from 1 to 50.');
  return parsed.data;
}
/** An invitation token as newSecret makes it: anything else is looked up in no table. */
const INVITE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  return parsed.data;
}

/**
 * The origin of a site as a person may type it (`https://Shop.Example/`, `https://shop.example:443`): scheme, host
 * and port only, lower case, default port dropped. A path, a query, a fragment, a user name or a scheme other than
 * http(s) is refused rather than cut off, so nobody believes a path of a site is what they allowed.
 *
 * @example
 *   siteOrigin('https://Shop.Example/'); // 'https://shop.example'
 *   siteOrigin('https://shop.example/help'); // throws KnockError bad_request
 */
/**
 * Whether the company lists `origin` (an exact origin, as stored) among the sites that may embed it: the one rule the
 * widget's frames (engine/http/widgetRoutes.ts), the SiteRoom's visitors and the knock's `startedOn` follow.
 */
export async function siteListed(storage: Pick<Storage, 'listSites'>, companyId: string, origin: string): Promise<boolean> {
  return (await storage.listSites(companyId)).some((site) => site.origin === origin);
}

export function siteOrigin(input: string): string {
  const refuse = (why: string): never => {
    throw new KnockError('bad_request', `"${input}" is not a site: ${why} Give an origin like https://shop.example.`);
  };
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return refuse('it is not a web address.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse('only http and https sites can embed the widget.');
  if (url.username !== '' || url.password !== '') refuse('it has a user name or password in it.');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(input)) refuse('an allowed site is a whole origin, without a path.');
  return parse(siteOriginSchema, url.origin);
}

export class Companies {
  constructor(private readonly deps: CompaniesDeps) {}

  /**
   * Makes a company: its account (the handle rules of `knock user add`, no login), the admin (an existing person
   * account) as its first operator, and, if given, its address for offline messages, stored verified (the server's
   * operator vouches for it). Nothing is left behind when a step fails.
   */
  async add(input: { handle: string; name: string; adminHandle: string; email?: string }): Promise<Account> {
    const { storage, accounts, clock } = this.deps;
    const email = input.email === undefined ? null : this.companyEmail(input.email);
    const admin = await this.person(input.adminHandle, 'to be the admin');
    const account = await accounts.addWithoutLogin(input.handle, input.name);
    try {
      const now = clock.now();
      await storage.makeCompany(account.id, now);
      await storage.addOperator({ companyId: account.id, accountId: admin.id, role: 'admin', capacity: DEFAULT_CAPACITY, at: now });
      if (email !== null) {
        const tokenHash = secretHash(newSecret());
        await storage.setAccountEmail(account.id, { address: email, verifyTokenHash: tokenHash, at: now });
        if (!(await storage.verifyAccountEmail(tokenHash, now))) throw new KnockError('internal', 'The company\u2019s address could not be verified.');
      }
    } catch (err) {
      await storage.removeAccount(account.handle);
      throw err;
    }
    return account;
  }

  async get(handle: string): Promise<{ account: Account; company: Company } | null> {
    const account = await this.deps.storage.getAccountByHandle(handle);
    const company = account ? await this.deps.storage.getCompany(account.id) : null;
    return account && company ? { account, company } : null;
  }

  /**
   * Adds a person as an operator (default: operator, capacity 3), or changes the role and capacity of one already
   * there. The last admin cannot be made an operator (`conflict`): someone must be able to manage the company.
   */
  async addOperator(companyHandle: string, operatorHandle: string, opts: { role?: OperatorRole; capacity?: number } = {}): Promise<Operator> {
    const role = operatorRole(opts.role ?? 'operator');
    const capacity = operatorCapacity(opts.capacity ?? DEFAULT_CAPACITY);
    const company = await this.company(companyHandle);
    const person = await this.person(operatorHandle, `to be an operator of ${company.handle}`);
    if (role !== 'admin') await this.keepAnAdmin(company, person.id, 'make them an operator');
    return this.deps.storage.addOperator({ companyId: company.id, accountId: person.id, role, capacity, at: this.deps.clock.now() });
  }

  /** False when the account is not an operator of the company. The last admin cannot be removed (`conflict`). */
  async removeOperator(companyHandle: string, operatorHandle: string): Promise<boolean> {
    const company = await this.company(companyHandle);
    const account = await this.deps.storage.getAccountByHandle(operatorHandle);
    if (!account) return false;
    await this.keepAnAdmin(company, account.id, 'remove them');
    return this.deps.storage.removeOperator(company.id, account.id);
  }

  /** False when the site was on the list already. */
  async addSite(companyHandle: string, origin: string): Promise<boolean> {
    const site = siteOrigin(origin);
    const company = await this.company(companyHandle);
    return this.deps.storage.addSite(company.id, site, this.deps.clock.now());
  }

  /** False when the site was not on the list. */
  async removeSite(companyHandle: string, origin: string): Promise<boolean> {
    const site = siteOrigin(origin);
    const company = await this.company(companyHandle);
    return this.deps.storage.removeSite(company.id, site);
  }

  /**
   * Sets the company's canned response for `/shortcut` (replacing the text of one already there). The shortcut may be
   * typed with its slash (`/hello`), as operators think of it.
   */
  async setCanned(companyHandle: string, shortcut: string, text: string): Promise<CannedResponse> {
    const key = parse(cannedShortcutSchema, shortcut.replace(/^\//, ''));
    const body = parse(cannedTextSchema, text);
    const company = await this.company(companyHandle);
    return this.deps.storage.setCannedResponse(company.id, key, body, this.deps.clock.now());
  }

  /** False when the company has no response for the shortcut. */
  async removeCanned(companyHandle: string, shortcut: string): Promise<boolean> {
    const key = parse(cannedShortcutSchema, shortcut.replace(/^\//, ''));
    const company = await this.company(companyHandle);
    return this.deps.storage.removeCannedResponse(company.id, key);
  }

  /** By shortcut. */
  async listCanned(companyHandle: string): Promise<CannedResponse[]> {
    return this.deps.storage.listCannedResponses((await this.company(companyHandle)).id);
  }

  /** The account's place in the company; null when it has none, or when `companyAccountId` is no company. */
  operatorOf(companyAccountId: string, accountId: string): Promise<Operator | null> {
    return this.deps.storage.getOperator(companyAccountId, accountId);
  }

  async listOperators(companyHandle: string): Promise<Operator[]> {
    return this.deps.storage.listOperators((await this.company(companyHandle)).id);
  }

  async listSites(companyHandle: string): Promise<Site[]> {
    return this.deps.storage.listSites((await this.company(companyHandle)).id);
  }

  /** Every company, by handle, with how many operators and sites it has. */
  async list(): Promise<Array<{ account: Account; operators: number; sites: number }>> {
    const { storage } = this.deps;
    const out: Array<{ account: Account; operators: number; sites: number }> = [];
    for (const account of await storage.listAccounts()) {
      if (!(await storage.getCompany(account.id))) continue;
      const [operators, sites] = await Promise.all([storage.listOperators(account.id), storage.listSites(account.id)]);
      out.push({ account, operators: operators.length, sites: sites.length });
    }
    return out;
  }

  /**
   * A link's token to become an operator of the company with `role`, for 7 days, once. Only an admin of the company
   * may invite (`forbidden` otherwise). The token is shown once; only its hash is stored.
   */
  async invite(companyHandle: string, byAccountId: string, role: OperatorRole): Promise<{ token: string; expiresAt: number }> {
    const invitedRole = operatorRole(role);
    const company = await this.company(companyHandle);
    const by = await this.deps.storage.getOperator(company.id, byAccountId);
    if (by?.role !== 'admin') throw new KnockError('forbidden', `Only an admin of ${company.handle} can invite operators.`);
    const token = newSecret();
    const now = this.deps.clock.now();
    const expiresAt = now + INVITE_TTL_MS;
    await this.deps.storage.createOperatorInvite({
      tokenHash: secretHash(token), companyId: company.id, role: invitedRole, createdBy: byAccountId, expiresAt, at: now,
    });
    return { token, expiresAt };
  }

  /**
   * Makes the account an operator by an invitation's token (capacity 3 when new; one already there keeps theirs, and
   * an admin invitation makes them admin). Null when the token is unknown, used or expired. A company cannot accept
   * (`bad_request`), and the invitation stays unused.
   */
  async acceptInvite(token: string, accountId: string): Promise<Operator | null> {
    if (!INVITE_TOKEN.test(token)) return null;
    const { storage, clock } = this.deps;
    const account = await storage.getAccountById(accountId);
    if (!account) throw new KnockError('not_found', 'There is no such account.');
    if (await storage.getCompany(account.id)) throw new KnockError('bad_request', `${account.handle} is a company: an operator is a person\u2019s account.`);
    return storage.takeOperatorInvite(secretHash(token), account.id, DEFAULT_CAPACITY, clock.now());
  }

  // -- internals ----------------------------------------------------------------------------------------------------

  private async company(handle: string): Promise<Account> {
    const found = await this.get(handle);
    if (!found) throw new KnockError('not_found', `There is no company "${handle}".`);
    return found.account;
  }

  /** An existing account that is not a company (a company works through people). */
  private async person(handle: string, what: string): Promise<Account> {
    const account = await this.deps.storage.getAccountByHandle(handle);
    if (!account) throw new KnockError('not_found', `There is no account "${handle}" ${what}.`);
    if (await this.deps.storage.getCompany(account.id)) {
      throw new KnockError('bad_request', `"${handle}" is a company; ${what} takes a person\u2019s account.`);
    }
    return account;
  }

  /** Refuses a change that would leave the company without an admin: `accountId` losing its admin role. */
  private async keepAnAdmin(company: Account, accountId: string, change: string): Promise<void> {
    const admins = (await this.deps.storage.listOperators(company.id)).filter((o) => o.role === 'admin');
    if (admins.length === 1 && admins[0]?.accountId === accountId) {
      throw new KnockError('conflict', `${admins[0].handle} is the last admin of ${company.handle}: make someone else admin before you ${change}.`);
    }
  }

  /** The company's address for offline messages, checked: an address, and not at this Knock's own mail domain. */
  private companyEmail(address: string): string {
    const email = parse(emailSchema, address);
    const domain = this.deps.mailDomain;
    if (domain !== undefined && email.slice(email.lastIndexOf('@') + 1).toLowerCase() === domain.toLowerCase()) {
      throw new KnockError('bad_request', `Give an address elsewhere: ${domain} is this Knock's own mail domain.`);
    }
    return email;
  }
}
