/**
 * Blocked visitors (issue 22): an owner's "Block" in a conversation (a company's operators block for the company).
 * A blocked visitor's knocks, messages and uploads are refused with a text they read on their page ("Alice does not
 * accept messages from you."), recognised two ways:
 * - by the conversation's token, the visitor's cookie in that browser: until the owner unblocks;
 * - by the address they were seen from last (a knock from the same address with a fresh cookie): for 30 days only,
 *   since addresses are reassigned.
 *
 * No address is ever stored as such: conversations and blocks keep the HMAC-SHA256 of the address key (an IPv4, or
 * an IPv6 /64: engine/http/clientAddress.ts clientKeyOf) under a secret of this install, made by the first process
 * that needs it and kept in storage (Storage.serverValue, like the VAPID keys), so a leaked table names no address
 * and the same address hashes the same in every process.
 *
 * @example
 *   const blocks = new VisitorBlocks({ storage, audit, clock, logger });
 *   await blocks.seen(conversationId, clientKeyOf(req, trustProxy));
 *   await blocks.block(alice.id, conversationId, { accountId: alice.id, context });
 *   await blocks.checkVisitor(alice, { addressKey: '203.0.113.7' }); // throws KnockError forbidden
 */
import { createHmac } from 'node:crypto';
import type { AuditContext, AuditLog } from './auditLog.ts';
import { newSecret } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, Storage, VisitorBlock, VisitorTraits } from './ports/storage.ts';
import type { BlockRecord } from './protocol.ts';

/** How long a blocked visitor's address stays refused: addresses are reassigned, a cookie is one browser's. */
export const ADDRESS_BLOCK_MS = 30 * 24 * 3600_000;
/** The server value (Storage.serverValue) that keys the hashes of addresses. */
const ADDRESS_KEY = 'blocks.addressKey';

/** What the visitor reads when they are refused. */
export function blockedError(ownerName: string): KnockError {
  return new KnockError('forbidden', `${ownerName} does not accept messages from you.`);
}

/** Who is writing: any of their conversation, its token's hash and their address key. */
export interface VisitorSeen {
  conversationId?: string;
  tokenHash?: string;
  /** The client's address key (clientKeyOf), hashed here. */
  addressKey?: string;
  /** Or its hash, already made (a room's visitor: rooms/conversationAccess.ts). */
  addressHash?: string;
}

/** Who blocks or unblocks: the account signed in (the owner, or a company's operator; null from the CLI), and where from. */
export interface Blocker {
  accountId: string | null;
  context: AuditContext;
}

export interface VisitorBlocksDeps {
  storage: Pick<Storage, 'serverValue' | 'recordVisitorAddress' | 'blockVisitor' | 'findVisitorBlock' | 'listVisitorBlocks' | 'removeVisitorBlock' | 'getAccountById'>;
  audit: Pick<AuditLog, 'record'>;
  clock: Clock;
  logger: Pick<Logger, 'error'>;
}

export class VisitorBlocks {
  private key: Promise<string> | null = null;

  constructor(private readonly deps: VisitorBlocksDeps) {}

  /** The keyed hash of an address key, as conversations and blocks store it. */
  async addressHash(addressKey: string): Promise<string> {
    this.key ??= this.deps.storage.serverValue(ADDRESS_KEY, newSecret()).catch((err: unknown) => {
      this.key = null; // read again next time
      throw err;
    });
    return createHmac('sha256', await this.key).update(addressKey).digest('base64url');
  }

  /**
   * Records the address a conversation's visitor knocked or joined from, so a block covers the one seen last, and
   * resolves with its hash. Never fails the knock or the join: a failure is logged, and resolves with null.
   */
  async seen(conversationId: string, addressKey: string): Promise<string | null> {
    try {
      const hash = await this.addressHash(addressKey);
      await this.deps.storage.recordVisitorAddress(conversationId, hash, this.deps.clock.now());
      return hash;
    } catch (err) {
      this.deps.logger.error({ err, conversationId }, 'could not record where a visitor was seen from');
      return null;
    }
  }

  /** Throws the refusal the visitor reads when `owner` blocked them (by any of what is known of them). */
  async checkVisitor(owner: Pick<Account, 'id' | 'displayName'>, visitor: VisitorSeen): Promise<void> {
    if (await this.isBlocked(owner.id, visitor)) throw blockedError(owner.displayName);
  }

  /** Whether the owner blocked this visitor (by any of what is known of them). */
  async isBlocked(ownerAccountId: string, visitor: VisitorSeen): Promise<boolean> {
    const traits: VisitorTraits = {
      ...(visitor.conversationId !== undefined ? { conversationId: visitor.conversationId } : {}),
      ...(visitor.tokenHash !== undefined ? { tokenHash: visitor.tokenHash } : {}),
    };
    const addressHash = visitor.addressHash ?? (visitor.addressKey !== undefined ? await this.addressHash(visitor.addressKey) : undefined);
    if (addressHash !== undefined) traits.addressHash = addressHash;
    return (await this.deps.storage.findVisitorBlock(ownerAccountId, traits, this.deps.clock.now())) !== null;
  }

  /** Blocks the visitor of the owner's conversation (again: the address seen since is taken); `not_found` if it is not the owner's. */
  async block(ownerAccountId: string, conversationId: string, by: Blocker): Promise<VisitorBlock> {
    const now = this.deps.clock.now();
    const made = await this.deps.storage.blockVisitor({ accountId: ownerAccountId, conversationId, blockedBy: by.accountId, addressUntil: now + ADDRESS_BLOCK_MS, at: now });
    if (!made) throw new KnockError('not_found', 'This conversation does not exist.');
    if (made.created) await this.record(ownerAccountId, 'visitor.blocked', made.block, by);
    return made.block;
  }

  /** Removes one of the owner's blocks; `not_found` when it has no such block. */
  async unblock(ownerAccountId: string, blockId: string, by: Blocker): Promise<VisitorBlock> {
    const removed = await this.deps.storage.removeVisitorBlock(ownerAccountId, blockId);
    if (!removed) throw new KnockError('not_found', 'There is no such block.');
    await this.record(ownerAccountId, 'visitor.unblocked', removed, by);
    return removed;
  }

  /** The block of the visitor of the owner's conversation, or null. */
  blockOf(ownerAccountId: string, conversationId: string): Promise<VisitorBlock | null> {
    return this.deps.storage.findVisitorBlock(ownerAccountId, { conversationId }, this.deps.clock.now());
  }

  list(ownerAccountId: string): Promise<VisitorBlock[]> {
    return this.deps.storage.listVisitorBlocks(ownerAccountId);
  }

  /** Blocks as the console shows them: who blocked by handle. */
  async records(blocks: readonly VisitorBlock[]): Promise<BlockRecord[]> {
    const handles = new Map<string, string | null>();
    for (const id of new Set(blocks.flatMap((b) => (b.blockedBy === null ? [] : [b.blockedBy])))) {
      handles.set(id, (await this.deps.storage.getAccountById(id))?.handle ?? null);
    }
    return blocks.map((b) => ({
      id: b.id,
      conversationId: b.conversationId,
      visitorName: b.visitorName,
      addressUntil: b.addressUntil,
      createdAt: b.createdAt,
      blockedBy: b.blockedBy === null ? null : (handles.get(b.blockedBy) ?? null),
    }));
  }

  private async record(ownerAccountId: string, kind: 'visitor.blocked' | 'visitor.unblocked', block: VisitorBlock, by: Blocker): Promise<void> {
    // An operator acting for a company is named in the company's log.
    const operator = by.accountId !== null && by.accountId !== ownerAccountId ? await this.deps.storage.getAccountById(by.accountId) : null;
    await this.deps.audit.record(ownerAccountId, kind, by.context, { visitor: block.visitorName || '(no name)', ...(operator ? { by: operator.handle } : {}) });
  }
}
