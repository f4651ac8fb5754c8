/**
 * The one contract suite of the Storage port (CONVENTIONS 5): every adapter (SQLite now, PostgreSQL later) runs it
 * unchanged, so the rules the engine relies on hold whatever database is behind the port. Nothing in here may
 * depend on one database: rules are stated and checked only through the port.
 *
 * @example
 *   storageContract('sqlite :memory:', async () => SqliteStorage.open({ file: ':memory:' }));
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { Storage } from '../../engine/ports/storage.ts';
import { accountRules } from './storage/accounts.contract.ts';
import { appendedFactsRules } from './storage/appendedFacts.contract.ts';
import { auditRules } from './storage/audit.contract.ts';
import { sessionRules } from './storage/sessions.contract.ts';
import { blockRules } from './storage/blocks.contract.ts';
import { secondFactorRules } from './storage/secondFactor.contract.ts';
import { cannedRules } from './storage/canned.contract.ts';
import { phoneRules } from './storage/phones.contract.ts';
import { smsRules } from './storage/sms.contract.ts';
import { domainRules } from './storage/domains.contract.ts';
import { certificateRules } from './storage/certificates.contract.ts';
import { channelRules } from './storage/channels.contract.ts';
import { companyRules } from './storage/companies.contract.ts';
import { conversationRules } from './storage/conversations.contract.ts';
import { documentRules } from './storage/documents.contract.ts';
import { emailInboxRules } from './storage/emailInbox.contract.ts';
import { eventRules } from './storage/events.contract.ts';
import { fileRules } from './storage/files.contract.ts';
import { inboxRules } from './storage/inbox.contract.ts';
import { mailRules } from './storage/mail.contract.ts';
import { outboxRules } from './storage/outbox.contract.ts';
import { routingRules } from './storage/routing.contract.ts';
import { searchRules } from './storage/search.contract.ts';
import type { StorageContext } from './storage/fixtures.ts';
import { messageRules } from './storage/messages.contract.ts';
import { gameRules } from './storage/games.contract.ts';

/**
 * Registers the suite. `open` must return an empty store each time (every test starts from nothing); `cleanup`
 * releases it (close, drop the database or delete the file) and defaults to `storage.close()`.
 */
export function storageContract(
  name: string,
  open: () => Promise<Storage>,
  cleanup?: (storage: Storage) => Promise<void>,
): void {
  describe(`Storage contract: ${name}`, () => {
    let current: Storage | undefined;

    beforeEach(async () => {
      current = await open();
    });

    afterEach(async () => {
      const storage = current;
      current = undefined;
      if (!storage) return;
      await (cleanup ? cleanup(storage) : storage.close());
    });

    const ctx: StorageContext = {
      storage() {
        if (!current) throw new Error('The storage is used outside a test: call ctx.storage() inside it().');
        return current;
      },
    };

    accountRules(ctx);
    conversationRules(ctx);
    messageRules(ctx);
    eventRules(ctx);
    documentRules(ctx);
    gameRules(ctx);
    fileRules(ctx);
    inboxRules(ctx);
    searchRules(ctx);
    outboxRules(ctx);
    mailRules(ctx);
    emailInboxRules(ctx);
    channelRules(ctx);
    appendedFactsRules(ctx);
    companyRules(ctx);
    routingRules(ctx);
    cannedRules(ctx);
    phoneRules(ctx);
    smsRules(ctx);
    domainRules(ctx);
    certificateRules(ctx);
    auditRules(ctx);
    sessionRules(ctx);
    blockRules(ctx);
    secondFactorRules(ctx);
  });
}
