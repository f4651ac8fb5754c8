/**
 * The operators' CLI: `knock user add|list|remove|passwd|export`, sessions and the audit log (`knock user sessions|logout|audit`, engine/securityCli.ts), `knock conversation list|archive|unarchive|delete` (what
 * an owner does in the console's inbox), channels and forwarding (engine/channelCli.ts), and companies, their
 * operators, sites and canned responses (engine/companyCli.ts), phone numbers (engine/phoneCli.ts), own domains (engine/domainCli.ts), blocked visitors (engine/blockCli.ts) and an account's export and removal (engine/accountCli.ts). It opens the same database (and file store) as the server (DATABASE_URL,
 * else KNOCK_DATA_DIR), so it works beside running servers. And the owners' `knock mail login|sync|send|logout`
 * (engine/mailCli/), which talks to a server over HTTP from the owner's own computer, with no database.
 *
 * @example
 *   printf 'a long password\n' | npx knock user add alice --name "Alice Liddell" --password-stdin
 */
import { parseCliArgs } from './cliArgs.ts';
import { Accounts } from './accounts.ts';
import { openBlobs, openStorage } from './app.ts';
import { createLogger } from './logger.ts';
import { describeIssues, emailSchema, inboxFilterSchema } from './protocol.ts';
import { newSecret, secretHash } from './auth.ts';
import type { Storage } from './ports/storage.ts';
import { configFromEnv, mailDomainOf } from './config.ts';
import { KnockError } from './errors.ts';
import { systemClock } from './ports/clock.ts';
import { MAIL_USAGE, mailCommand } from './mailCli/commands.ts';
import { CHANNEL_USAGE, channelCommand, forwardingCommand } from './channelCli.ts';
import { Companies } from './companies.ts';
import { COMPANY_GROUPS, COMPANY_USAGE, companyCommand, type CompanyGroup } from './companyCli.ts';
import { PHONE_USAGE, phoneCommand } from './phoneCli.ts';
import { DOMAIN_USAGE, domainCommand } from './domainCli.ts';
import { SECOND_FACTOR_USAGE, secondFactorCommand } from './secondFactorCli.ts';
import { Domains, ownNames, resolverNs } from './domains.ts';
import { SECURITY_COMMANDS, SECURITY_USAGE, recordPasswordSet, securityCommand } from './securityCli.ts';
import { BLOCK_USAGE, blockCommand } from './blockCli.ts';
import { exportAccount, removeAccount } from './accountCli.ts';

const USAGE = `Usage:
  knock user add <handle> --name "<display name>" --password-stdin
  knock user list
  knock user remove <handle>
  knock user export <handle> --out <file.zip>
  knock user passwd <handle> --password-stdin
  knock user email <handle> [<address> | --remove]
  knock user devices <handle> [--revoke <device id>]
${SECURITY_USAGE}
${SECOND_FACTOR_USAGE}
  knock conversation list <handle> [--search "<words>"] [--filter all|unread|files|archived]
  knock conversation archive|unarchive|delete <conversation id>
${CHANNEL_USAGE}
${COMPANY_USAGE}
${PHONE_USAGE}
${DOMAIN_USAGE}
${BLOCK_USAGE}
${MAIL_USAGE}

The password is read from standard input (one line). Data lives in PostgreSQL when DATABASE_URL is set
(schema KNOCK_DATABASE_SCHEMA), otherwise in KNOCK_DATA_DIR (default ./data). The mail commands talk to the server
at your Knock URL instead, and keep their login in $XDG_CONFIG_HOME/knock/mail.json (~/.config/knock/mail.json).`;

function isCompanyGroup(group: string): group is CompanyGroup {
  return (COMPANY_GROUPS as readonly string[]).includes(group);
}

async function readStdinLine(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    name: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    search: { type: 'string' },
    filter: { type: 'string' },
    'allow-http': { type: 'boolean' },
    to: { type: 'string' },
    subject: { type: 'string' },
    attach: { type: 'string', multiple: true },
    text: { type: 'string' },
    remove: { type: 'boolean' },
    revoke: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    pause: { type: 'boolean' },
    resume: { type: 'boolean' },
    quiet: { type: 'string' },
    'no-quiet': { type: 'boolean' },
    'time-zone': { type: 'string' },
    'away-counts': { type: 'string' },
    admin: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    capacity: { type: 'string' },
    limit: { type: 'string' },
    out: { type: 'string' },
    code: { type: 'string' },
    disable: { type: 'boolean' },
  });
  const [group, command, handle] = positionals;
  const groups = ['user', 'conversation', 'mail', 'channel', 'forwarding', 'phone', 'domain', 'block', ...COMPANY_GROUPS];
  if (values.help || group === undefined || !groups.includes(group) || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (group === 'mail') {
    const io = { env: { XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, HOME: process.env.HOME }, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
    return mailCommand(command, positionals.slice(2), values, io);
  }
  // The CLI works on the database alone: Redis and this process's public address are the servers' business, so a
  // shared environment file that sets REDIS_URL (and each server its own KNOCK_PUBLIC_ADDRESS) serves it as well.
  const config = configFromEnv({ ...process.env, REDIS_URL: undefined, KNOCK_PUBLIC_ADDRESS: undefined });
  const storage = await openStorage(config);
  if (group === 'channel' || group === 'forwarding') {
    try {
      return group === 'channel'
        ? await channelCommand(storage, command, positionals.slice(2), process.stdout)
        : await forwardingCommand(storage, command, values, process.stdout);
    } finally {
      await storage.close();
    }
  }
  if (group === 'phone') {
    try {
      return await phoneCommand(storage, command, positionals.slice(2), process.stdout);
    } finally {
      await storage.close();
    }
  }
  if (group === 'block') {
    try {
      return await blockCommand(storage, createLogger('warn', process.stderr), command, positionals.slice(2), process.stdout);
    } finally {
      await storage.close();
    }
  }
  if (group === 'user' && (command === 'export' || command === 'remove')) {
    const logger = createLogger('warn', process.stderr);
    try {
      const blobs = await openBlobs(config, logger);
      try {
        return command === 'export'
          ? await exportAccount(storage, blobs, logger, handle, values.out, process.stdout)
          : await removeAccount(storage, blobs, logger, handle, process.stdout);
      } finally {
        await blobs.close();
      }
    } finally {
      await storage.close();
    }
  }
  if (group === 'domain') {
    try {
      const domains = new Domains({
        storage,
        clock: systemClock,
        logger: createLogger('warn', process.stderr),
        nameservers: config.dnsNameservers,
        resolveNs: resolverNs(config.dnsCheckResolver),
        reserved: ownNames(config),
      });
      return await domainCommand(storage, domains, command, positionals.slice(2), process.stdout);
    } finally {
      await storage.close();
    }
  }
  if (isCompanyGroup(group)) {
    try {
      const companies = new Companies({ storage, accounts: new Accounts(storage, systemClock), clock: systemClock, mailDomain: mailDomainOf(config) });
      return await companyCommand(companies, group, command, positionals.slice(2), values, process.stdout);
    } finally {
      await storage.close();
    }
  }
  if (group === 'conversation') {
    try {
      return await conversationCommand(storage, command, handle, values, () => openBlobs(config, createLogger('warn', process.stderr)));
    } finally {
      await storage.close();
    }
  }
  const accounts = new Accounts(storage, systemClock);
  try {
    if (SECURITY_COMMANDS.includes(command)) return await securityCommand(storage, createLogger('warn', process.stderr), command, handle, values, process.stdout);
    switch (command) {
      case 'add': {
        if (!handle || !values.name || !values['password-stdin']) throw new KnockError('bad_request', 'user add needs <handle>, --name and --password-stdin.');
        const account = await accounts.add(handle, values.name, await readStdinLine());
        process.stdout.write(`Added ${account.handle} (${account.displayName}).\n`);
        return 0;
      }
      case 'list': {
        for (const a of await accounts.list()) process.stdout.write(`${a.handle}\t${a.displayName}\t${new Date(a.createdAt).toISOString()}\n`);
        return 0;
      }
      case 'passwd': {
        if (!handle || !values['password-stdin']) throw new KnockError('bad_request', 'user passwd needs <handle> and --password-stdin.');
        const { account, ended } = await accounts.setPassword(handle, await readStdinLine());
        // In the audit log, and told to the account's verified address (the outbox is in storage: a server mails it).
        await recordPasswordSet(storage, createLogger('warn', process.stderr), account, ended);
        process.stdout.write(`Password of ${handle} changed; its sessions were closed.\n`);
        return 0;
      }
      case 'email': {
        // Settings' "Email address", set by the operator: taken as verified (the operator vouches for it).
        const account = handle ? await storage.getAccountByHandle(handle) : null;
        if (!account) throw new KnockError('not_found', handle ? `There is no account "${handle}".` : 'user email needs <handle>.');
        const address = positionals[3];
        if (values.remove) {
          await storage.setAccountEmail(account.id, null);
          process.stdout.write(`Removed the email address of ${handle}.\n`);
        } else if (address !== undefined) {
          const parsed = emailSchema.safeParse(address);
          if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
          const domain = mailDomainOf(config);
          if (parsed.data.slice(parsed.data.lastIndexOf('@') + 1).toLowerCase() === domain) {
            throw new KnockError('bad_request', `Give an address elsewhere: ${domain} is this Knock's own mail domain.`);
          }
          const tokenHash = secretHash(newSecret());
          await storage.setAccountEmail(account.id, { address: parsed.data, verifyTokenHash: tokenHash, at: systemClock.now() });
          await storage.verifyAccountEmail(tokenHash, systemClock.now());
          process.stdout.write(`${handle} is notified at ${parsed.data} (verified).\n`);
        } else {
          const email = await storage.getAccountEmail(account.id);
          process.stdout.write(email ? `${email.address}\t${email.verifiedAt === null ? 'unverified' : 'verified'}\n` : 'No email address.\n');
        }
        return 0;
      }
      case '2fa':
        // Settings → Two-factor sign-in (issue 22): what is on, or --disable to let an owner who lost their phone back in.
        return await secondFactorCommand(
          { storage, clock: systemClock, logger: createLogger('warn', process.stderr), tries: config.rateLimits.secondFactorTries },
          handle,
          values.disable === true,
          process.stdout,
        );
      case 'devices': {
        // Settings' mail devices (npx knock mail login): listed, or one revoked.
        const account = handle ? await storage.getAccountByHandle(handle) : null;
        if (!account) throw new KnockError('not_found', handle ? `There is no account "${handle}".` : 'user devices needs <handle>.');
        if (values.revoke !== undefined) {
          if (!(await storage.revokeDeviceToken(account.id, values.revoke))) throw new KnockError('not_found', `${handle} has no device "${values.revoke}".`);
          process.stdout.write(`Revoked ${values.revoke}.\n`);
          return 0;
        }
        for (const d of await storage.listDeviceTokens(account.id)) {
          process.stdout.write(`${d.id}\t${d.name}\t${new Date(d.createdAt).toISOString()}\t${d.lastUsedAt === null ? 'never used' : new Date(d.lastUsedAt).toISOString()}\n`);
        }
        return 0;
      }
      default:
        throw new KnockError('bad_request', `Unknown command "user ${command}".\n${USAGE}`);
    }
  } finally {
    await storage.close();
  }
}

/** The owner's inbox from the command line: the same storage calls as the console's buttons. */
async function conversationCommand(
  storage: Storage,
  command: string,
  target: string | undefined,
  values: { search?: string | undefined; filter?: string | undefined },
  openFileStore: () => ReturnType<typeof openBlobs>,
): Promise<number> {
  if (!target) throw new KnockError('bad_request', `conversation ${command} needs ${command === 'list' ? '<handle>' : '<conversation id>'}.`);
  switch (command) {
    case 'list': {
      const account = await storage.getAccountByHandle(target);
      if (!account) throw new KnockError('not_found', `There is no account "${target}".`);
      const filter = inboxFilterSchema.safeParse(values.filter ?? 'all');
      if (!filter.success) throw new KnockError('bad_request', '--filter is all, unread, files or archived.');
      const list = await storage.listConversations(account.id, { limit: 1000, filter: filter.data, ...(values.search ? { query: values.search } : {}) });
      for (const c of list) {
        const flags = [c.archived ? 'archived' : '', c.unread > 0 || c.markedUnread ? `unread ${c.unread}` : '', c.files ? `files ${c.files}` : ''].filter(Boolean).join(', ');
        process.stdout.write(`${c.id}\t${c.visitorName || '(no name)'}\t${new Date(c.updatedAt).toISOString()}\t${flags}\n`);
      }
      return 0;
    }
    case 'archive':
    case 'unarchive': {
      if (!(await storage.setArchived(target, command === 'archive'))) throw new KnockError('not_found', `There is no conversation "${target}".`);
      process.stdout.write(`${command === 'archive' ? 'Archived' : 'Unarchived'} ${target}.\n`);
      return 0;
    }
    case 'delete': {
      const orphans = await storage.deleteConversation(target);
      if (orphans === null) throw new KnockError('not_found', `There is no conversation "${target}".`);
      const blobs = await openFileStore();
      try {
        for (const id of orphans) await blobs.delete(id);
      } finally {
        await blobs.close();
      }
      process.stdout.write(`Deleted ${target}, its messages and files.\n`);
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "conversation ${command}".\n${USAGE}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`knock: ${err instanceof KnockError ? err.message : String(err)}\n`);
    process.exit(err instanceof KnockError ? 1 : 70);
  },
);
