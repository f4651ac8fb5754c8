/**
 * The one way tests start Knock (CONVENTIONS 13): a real server on 127.0.0.1 and a free port, its own temporary
 * data directory, and a `close()` that stops it and removes what it made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKnock, type Knock } from '../../engine/app.ts';
import { parseConfig, type KnockConfigInput } from '../../engine/config.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';

export interface TestKnock extends Knock {
  dataDir: string;
  /** Adds an account through the same code path as the CLI. */
  addUser(handle: string, displayName: string, password?: string): Promise<void>;
}

export const TEST_PASSWORD = 'correct horse battery';

/** `clock`: the server's time (a test that moves it forward: links and sessions that expire); the system's by default. */
export async function startKnock(overrides: Partial<KnockConfigInput> = {}, opts: { clock?: Clock } = {}): Promise<TestKnock> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'knock-test-')));
  // No SMTP or DNS server unless a test asks for one (port 0 picks a free port): the defaults 2525 and 5353 are one per machine.
  // No conference server unless a test asks for one: mediasoup would start a worker per core for every test server.
  const config = parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', smtpPort: -1, dnsPort: -1, sfu: overrides.janusUrl === undefined ? 'none' : 'janus', ...overrides, dataDir });
  const knock = await createKnock(config, { logger: createLogger(process.env.KNOCK_TEST_LOG ?? 'silent'), ...(opts.clock ? { clock: opts.clock } : {}) });
  await knock.listen();
  return {
    dataDir,
    url: knock.url,
    mailPort: knock.mailPort,
    dnsPort: knock.dnsPort,
    httpPort: knock.httpPort,
    certificates: knock.certificates,
    domainHosts: knock.domainHosts,
    storage: knock.storage,
    accounts: knock.accounts,
    companies: knock.companies,
    audit: knock.audit,
    listen: () => knock.listen(),
    pending: () => knock.pending(),
    async addUser(handle: string, displayName: string, password = TEST_PASSWORD) {
      await knock.accounts.add(handle, displayName, password);
    },
    async close() {
      await knock.close();
      if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
