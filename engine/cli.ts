/**
 * The operators' CLI: `knock user add|list|remove|passwd`. It opens the same database as the server
 * (DATABASE_URL, else KNOCK_DATA_DIR), so it works beside running servers.
 *
 * @example
 *   printf 'a long password\n' | npx knock user add alice --name "Alice Liddell" --password-stdin
 */
import { parseArgs } from 'node:util';
import { Accounts } from './accounts.ts';
import { openStorage } from './app.ts';
import { configFromEnv } from './config.ts';
import { KnockError } from './errors.ts';
import { systemClock } from './ports/clock.ts';

const USAGE = `Usage:
  knock user add <handle> --name "<display name>" --password-stdin
  knock user list
  knock user remove <handle>
  knock user passwd <handle> --password-stdin

The password is read from standard input (one line). Data lives in PostgreSQL when DATABASE_URL is set
(schema KNOCK_DATABASE_SCHEMA), otherwise in KNOCK_DATA_DIR (default ./data).`;

async function readStdinLine(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, 'password-stdin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, command, handle] = positionals;
  if (values.help || group !== 'user' || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  // The CLI works on the database alone: Redis and this process's public address are the servers' business, so a
  // shared environment file that sets REDIS_URL (and each server its own KNOCK_PUBLIC_ADDRESS) serves it as well.
  const config = configFromEnv({ ...process.env, REDIS_URL: undefined, KNOCK_PUBLIC_ADDRESS: undefined });
  const storage = await openStorage(config);
  const accounts = new Accounts(storage, systemClock);
  try {
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
      case 'remove': {
        if (!handle) throw new KnockError('bad_request', 'user remove needs <handle>.');
        await accounts.remove(handle);
        process.stdout.write(`Removed ${handle} and all of its conversations.\n`);
        return 0;
      }
      case 'passwd': {
        if (!handle || !values['password-stdin']) throw new KnockError('bad_request', 'user passwd needs <handle> and --password-stdin.');
        await accounts.setPassword(handle, await readStdinLine());
        process.stdout.write(`Password of ${handle} changed; its sessions were closed.\n`);
        return 0;
      }
      default:
        throw new KnockError('bad_request', `Unknown command "user ${command}".\n${USAGE}`);
    }
  } finally {
    await storage.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`knock: ${err instanceof KnockError ? err.message : String(err)}\n`);
    process.exit(err instanceof KnockError ? 1 : 70);
  },
);
