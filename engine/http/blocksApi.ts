/**
 * Blocked visitors over HTTP (issue 22, engine/visitorBlocks.ts): a conversation's "Block" and "Unblock" in the
 * console, and Settings → Blocked visitors. Who may: the owner at the console, and, for a company, each of its
 * operators (they block for the company, as they answer for it); a mail device token is refused. A conversation of
 * another account is answered as one that does not exist. Checks first, then does (CONVENTIONS 7).
 *
 *   GET    /_/api/blocks                               -> blocksAnswer
 *   DELETE /_/api/blocks/<id>                          -> blocksAnswer (unblocked)
 *   GET    /_/api/conversations/<id>/block             -> conversationBlockAnswer
 *   POST   /_/api/conversations/<id>/block             -> conversationBlockAnswer (blocked)
 *   DELETE /_/api/conversations/<id>/block             -> conversationBlockAnswer (unblocked: null)
 */
import type { Auth } from '../auth.ts';
import { auditContextOf } from '../auditLog.ts';
import type { RateLimitConfig } from '../config.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Storage } from '../ports/storage.ts';
import type { BlocksAnswer, ConversationBlockAnswer } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { Blocker, VisitorBlocks } from '../visitorBlocks.ts';
import type { RequestInfo } from './api.ts';
import { sendJson } from './io.ts';
import { Requesters, type OwnerRequest } from './requesters.ts';
import { runMatched, type Handler } from './routing.ts';

/** Blocks and unblocks per account: a person blocks a few pests; a script flipping blocks is stopped. */
export const BLOCK_CHANGES_PER_ACCOUNT: RateLimitConfig = { perWindow: 60, windowMs: 3600_000 };
const ID = '([A-Za-z0-9_-]{1,64})';

export interface BlocksApiDeps {
  storage: Storage;
  auth: Auth;
  blocks: VisitorBlocks;
  clock: Clock;
  trustProxy: number;
}

export class BlocksApi {
  private readonly requesters: Requesters;
  private readonly changes: KeyedRateLimiter;

  constructor(private readonly deps: BlocksApiDeps) {
    this.requesters = new Requesters(deps);
    this.changes = new KeyedRateLimiter(BLOCK_CHANGES_PER_ACCOUNT, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (method === 'GET' && path === '/_/api/blocks') return () => this.list(r);
    let m = path.match(new RegExp(`^/_/api/blocks/${ID}$`));
    if (m && method === 'DELETE') return () => this.unblock(r, m![1]!);
    m = path.match(new RegExp(`^/_/api/conversations/${ID}/block$`));
    if (!m) return null;
    const conversationId = m[1]!;
    if (method === 'GET') return () => this.conversationBlock(r, conversationId);
    if (method === 'POST') return () => this.block(r, conversationId);
    if (method === 'DELETE') return () => this.unblockConversation(r, conversationId);
    return null;
  }

  private async list(r: RequestInfo): Promise<void> {
    const owner = await this.owner(r);
    await this.answerList(r, owner.account.id);
  }

  private async unblock(r: RequestInfo, blockId: string): Promise<void> {
    const owner = await this.owner(r);
    this.changes.takeOrThrow(owner.account.id, 'Changes to blocked visitors');
    await this.deps.blocks.unblock(owner.account.id, blockId, this.blocker(r, owner));
    await this.answerList(r, owner.account.id);
  }

  private async conversationBlock(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.ownerOf(r, conversationId);
    await this.answer(r, await this.deps.blocks.blockOf(owner.account.id, conversationId));
  }

  private async block(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.ownerOf(r, conversationId);
    this.changes.takeOrThrow(owner.account.id, 'Changes to blocked visitors');
    await this.answer(r, await this.deps.blocks.block(owner.account.id, conversationId, this.blocker(r, owner)));
  }

  private async unblockConversation(r: RequestInfo, conversationId: string): Promise<void> {
    const owner = await this.ownerOf(r, conversationId);
    const block = await this.deps.blocks.blockOf(owner.account.id, conversationId);
    if (!block) throw new KnockError('not_found', 'This visitor is not blocked.');
    this.changes.takeOrThrow(owner.account.id, 'Changes to blocked visitors');
    await this.deps.blocks.unblock(owner.account.id, block.id, this.blocker(r, owner));
    await this.answer(r, null);
  }

  /** The owner at the console (an operator for the company too). */
  private owner(r: RequestInfo): Promise<OwnerRequest> {
    return this.requesters.requireOwner(r.req, { console: 'A mail device cannot block visitors: use the console.' });
  }

  /** The owner of this conversation at the console; another account's conversation does not exist for them. */
  private async ownerOf(r: RequestInfo, conversationId: string): Promise<OwnerRequest> {
    const owner = await this.owner(r);
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation || conversation.ownerAccountId !== owner.account.id) throw new KnockError('not_found', 'This conversation does not exist.');
    return owner;
  }

  private blocker(r: RequestInfo, owner: OwnerRequest): Blocker {
    return { accountId: (owner.operator?.account ?? owner.account).id, context: auditContextOf(r.req, this.deps.trustProxy) };
  }

  private async answer(r: RequestInfo, block: Awaited<ReturnType<VisitorBlocks['blockOf']>>): Promise<void> {
    const answer: ConversationBlockAnswer = { block: block ? ((await this.deps.blocks.records([block]))[0] ?? null) : null };
    sendJson(r.res, 200, answer, { 'Cache-Control': 'no-store' });
  }

  private async answerList(r: RequestInfo, accountId: string): Promise<void> {
    const answer: BlocksAnswer = { blocks: await this.deps.blocks.records(await this.deps.blocks.list(accountId)) };
    sendJson(r.res, 200, answer, { 'Cache-Control': 'no-store' });
  }
}
