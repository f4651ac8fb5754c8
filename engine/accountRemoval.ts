/**
 * Deleting an account for good (issue 22: Settings → "Delete account", `npx knock user remove`): everything of it goes
 * in one storage transaction (sessions, conversations with their messages and files, channels, phone number,
 * domains, company memberships, blocks, audit log: Storage.purgeAccount), then the blobs nothing else uses (a file
 * another account holds with the same bytes keeps its blob), and the sockets of its sessions and of its
 * conversations' visitors are closed at once (the Hub, when a server runs; from the CLI the servers' session checks
 * close them within seconds: engine/sessionWatch.ts).
 *
 * A company's last admin cannot go while the company would be left without one: someone must be able to manage it.
 *
 * @example
 *   const removal = new AccountRemoval({ storage, blobs, hub, logger });
 *   await removal.remove(account); // KnockError conflict for a company's last admin
 */
import { KnockError } from './errors.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { Blobs } from './ports/blobs.ts';
import type { Account, Storage } from './ports/storage.ts';
import { publishSessionsEnded } from './sessions.ts';

export interface AccountRemovalDeps {
  storage: Pick<Storage, 'companiesOf' | 'listOperators' | 'sessionHashesOf' | 'conversationIdsOf' | 'purgeAccount'>;
  blobs: Pick<Blobs, 'delete'>;
  /** Null from the CLI: no server of this process to tell. */
  hub: Pick<Hub, 'publishPresence' | 'publishConversationRemoved'> | null;
  logger: Pick<Logger, 'error'>;
}

export class AccountRemoval {
  constructor(private readonly deps: AccountRemovalDeps) {}

  /** Refuses (`conflict`) when the account is the last admin of a company. */
  async checkRemovable(account: Account): Promise<void> {
    const { storage } = this.deps;
    for (const { company, role } of await storage.companiesOf(account.id)) {
      if (role !== 'admin') continue;
      const admins = (await storage.listOperators(company.id)).filter((o) => o.role === 'admin');
      if (admins.length <= 1) {
        throw new KnockError(
          'conflict',
          `You are the last admin of /${company.handle}: make someone else its admin (or have the company removed) before you delete your account.`,
        );
      }
    }
  }

  /** Removes the account and everything of it; resolves with how many of its blobs went. */
  async remove(account: Account): Promise<{ conversations: number; blobs: number }> {
    await this.checkRemovable(account);
    const { storage, hub } = this.deps;
    // Read before they go: whose sockets to close.
    const [sessions, conversations, companies] = await Promise.all([
      storage.sessionHashesOf(account.id),
      storage.conversationIdsOf(account.id),
      storage.companiesOf(account.id),
    ]);
    const orphans = await storage.purgeAccount(account.id);
    if (orphans === null) throw new KnockError('not_found', `There is no account "${account.handle}".`);
    if (hub) {
      // Its devices at its own URL and at the companies' it worked for (read before the purge took them).
      publishSessionsEnded(hub, [account.handle, ...companies.map((c) => c.company.handle)], sessions);
      for (const id of conversations) hub.publishConversationRemoved(id);
    }
    let deleted = 0;
    for (const id of orphans) {
      await this.deps.blobs.delete(id).then(
        () => void (deleted += 1),
        (err: unknown) => this.deps.logger.error({ err, blobId: id }, 'could not delete a blob of a removed account'),
      );
    }
    return { conversations: conversations.length, blobs: deleted };
  }
}
