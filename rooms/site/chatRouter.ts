/**
 * Routing of a company's chats to its operators (issue 19, "Routing and the team's tools"), free of Colyseus: the
 * company's SiteRoom holds one, and is the only writer of the company's chats (one SiteRoom per company in the cluster).
 *
 * - A new chat of the company (a conversation that is not email) is queued, then goes to an eligible operator: one whose
 *   console is open now (`connected`), whose status is online, and who has fewer open chats than their capacity; the
 *   one with the fewest chats, and of those the one whose last chat came longest ago. With none eligible, the chat
 *   waits in the queue, first come first served.
 * - Whenever an operator may have room (a chat ended, a console opened, the operators re-read on `refresh`, which the
 *   room calls periodically since status and capacity change over the HTTP API), the oldest queued chats are routed.
 * - An operator takes a chat (queued, or another's), transfers it to another operator, or ends it.
 * - A chat assigned to someone who is no longer an operator (removed, or whose account was removed) is queued again.
 *
 * Every change runs in turn (`serial`): decisions read the state the previous one left, and storage is written
 * before the state changes here, so what operators see is what is kept.
 */
import { KnockError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { ChatAssignment, Operator, StartedOn, Storage } from '../../engine/ports/storage.ts';
import type { ChatAssignmentRecord, ConversationSummary } from '../../engine/protocol.ts';

export interface ChatRouterDeps {
  storage: Pick<Storage, 'queueChat' | 'assignChat' | 'endChat' | 'reopenChat' | 'getChatAssignment' | 'openChats' | 'listOperators' | 'getConversationSummary'>;
  clock: Clock;
  logger: Logger;
  /** The accounts of the operators whose console is open in the room now. */
  connected: () => ReadonlySet<string>;
  /** Told after every change of the open chats (the room tells operators and the visitors waiting). */
  onChange: () => void;
}

/** An open chat of the company, as the router holds it. */
export interface RoutedChat {
  readonly conversationId: string;
  /** `queued` also for a chat whose operator is no longer one (its row still names them until it is assigned again). */
  state: 'queued' | 'assigned';
  operatorId: string | null;
  readonly queuedAt: number;
  assignedAt: number | null;
  visitorName: string;
  startedOn: StartedOn | null;
}

/** Most open chats one `chats` message lists (the longest queued first): a desk with more sees these first. */
export const MAX_LISTED_CHATS = 200;

/** Conversations known not to be routed (ended chats, email), remembered so their summaries cost no query; bounded. */
const MAX_SETTLED = 10_000;

export class ChatRouter {
  private readonly chats = new Map<string, RoutedChat>();
  private readonly settled = new Set<string>();
  private operators: Operator[] = [];
  /** When each operator last got a chat (ties go to the one who waited longest). */
  private readonly lastAssigned = new Map<string, number>();
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: ChatRouterDeps,
    readonly company: { id: string; displayName: string },
  ) {}

  /** Reads the company's open chats and operators from storage, then routes what waits. */
  load(): Promise<void> {
    return this.serial(async () => {
      const open = await this.deps.storage.openChats(this.company.id);
      for (const row of open) this.chats.set(row.conversationId, await this.fromRow(row));
      await this.readOperators();
      if (await this.route()) this.deps.onChange();
    });
  }

  /**
   * A conversation of the company changed (a summary from the hub): a chat not known yet is queued and routed; an
   * ended chat whose visitor wrote after its end waits in the queue again (as a visitor's new question to the
   * team, like LiveChat's and Crisp's).
   */
  heard(summary: ConversationSummary): Promise<void> {
    const known = this.chats.get(summary.id);
    if (known) {
      if (known.visitorName === summary.visitorName) return Promise.resolve();
      known.visitorName = summary.visitorName;
      this.deps.onChange();
      return Promise.resolve();
    }
    const visitorWrote = summary.lastMessage?.senderRole === 'visitor' && summary.kind !== 'email';
    if (this.settled.has(summary.id) && !visitorWrote) return Promise.resolve();
    return this.serial(async () => {
      if (this.chats.has(summary.id)) return;
      if (summary.kind === 'email') {
        this.settle(summary.id);
        return;
      }
      const at = this.deps.clock.now();
      // The knock queues a company's chat itself (engine/http/api.ts), so that a chat started while this room was not
      // running waits for it; a chat queued so, or by another process's room before a move, is taken as stored.
      const queued = await this.deps.storage.queueChat(summary.id, this.company.id, at);
      let stored = queued ? null : await this.deps.storage.getChatAssignment(summary.id);
      const writtenAt = summary.lastMessage?.at ?? 0;
      if (stored?.state === 'ended' && stored.companyId === this.company.id && visitorWrote && stored.endedAt !== null && writtenAt > stored.endedAt) {
        stored = await this.deps.storage.reopenChat(summary.id, at);
      }
      if (queued || (stored !== null && stored.companyId === this.company.id && stored.state !== 'ended')) {
        this.settled.delete(summary.id);
        this.chats.set(summary.id, {
          conversationId: summary.id,
          state: stored?.state === 'assigned' ? 'assigned' : 'queued',
          operatorId: stored?.operatorId ?? null,
          queuedAt: stored?.queuedAt ?? at,
          assignedAt: stored?.assignedAt ?? null,
          visitorName: summary.visitorName,
          startedOn: summary.startedOn ?? null,
        });
        await this.readOperators();
        await this.route();
        this.deps.onChange();
        return;
      }
      this.settle(summary.id);
    });
  }

  /** Re-reads the operators (status, capacity, who is one) and routes: also when a console opened. */
  refresh(): Promise<void> {
    return this.serial(async () => {
      await this.readOperators();
      if (await this.route()) this.deps.onChange();
    });
  }

  /** Whether an operator of the company is here to answer: their console open and their status online (capacity aside: a full team queues). */
  anyoneAvailable(): boolean {
    const connected = this.deps.connected();
    return this.operators.some((operator) => operator.status === 'online' && connected.has(operator.accountId));
  }

  /** `operatorId` takes the chat: a queued one, or another operator's. */
  take(operatorId: string, conversationId: string): Promise<void> {
    return this.serial(async () => {
      await this.readOperators();
      this.operatorNamed(operatorId, 'take chats');
      const chat = await this.openChat(conversationId);
      if (chat.state === 'assigned' && chat.operatorId === operatorId) throw new KnockError('conflict', 'This chat is yours already.');
      await this.assign(chat, operatorId);
      this.deps.onChange();
    });
  }

  /** `byId` hands the chat to the operator `toHandle`. */
  transfer(byId: string, conversationId: string, toHandle: string): Promise<void> {
    return this.serial(async () => {
      await this.readOperators();
      this.operatorNamed(byId, 'transfer chats');
      const to = this.operators.find((o) => o.handle === toHandle);
      if (!to) throw new KnockError('not_found', `${toHandle} is not an operator of ${this.company.displayName}.`);
      const chat = await this.openChat(conversationId);
      if (chat.state === 'assigned' && chat.operatorId === to.accountId) throw new KnockError('conflict', `This chat is with ${to.displayName} already.`);
      await this.assign(chat, to.accountId);
      this.deps.onChange();
    });
  }

  /** `byId` ends the chat; its operator is free for the next one waiting. */
  end(byId: string, conversationId: string): Promise<void> {
    return this.serial(async () => {
      await this.readOperators();
      this.operatorNamed(byId, 'end chats');
      const chat = await this.openChat(conversationId);
      await this.deps.storage.endChat(chat.conversationId, this.deps.clock.now());
      this.chats.delete(chat.conversationId);
      this.settle(chat.conversationId);
      await this.route();
      this.deps.onChange();
    });
  }

  /** The open chats, the longest queued first. */
  openChats(): RoutedChat[] {
    return [...this.chats.values()].sort((a, b) => a.queuedAt - b.queuedAt || (a.conversationId < b.conversationId ? -1 : 1));
  }

  /** What operators see: the open chats, the longest queued first, at most MAX_LISTED_CHATS. */
  records(): ChatAssignmentRecord[] {
    return this.openChats().slice(0, MAX_LISTED_CHATS).map((chat) => {
      const operator = chat.state === 'assigned' ? this.operators.find((o) => o.accountId === chat.operatorId) : undefined;
      return {
        conversationId: chat.conversationId,
        state: chat.state,
        operator: operator ? { handle: operator.handle, displayName: operator.displayName } : null,
        queuedAt: chat.queuedAt,
        assignedAt: chat.state === 'assigned' ? chat.assignedAt : null,
        visitorName: chat.visitorName,
        startedOn: chat.startedOn,
      };
    });
  }

  /** The place of a chat in the queue (1 = next); null when it is not waiting. */
  positionOf(conversationId: string): number | null {
    if (this.chats.get(conversationId)?.state !== 'queued') return null;
    let position = 0;
    for (const chat of this.openChats()) {
      if (chat.state === 'queued') position++;
      if (chat.conversationId === conversationId) return position;
    }
    return null;
  }

  // --- decisions ----------------------------------------------------------------------------------------------------

  /**
   * Gives the waiting chats, oldest first, to eligible operators until none is left or no one has room. Returns whether
   * it gave any (the operators are told by the caller: once per change, not once per chat).
   */
  private async route(): Promise<boolean> {
    let gave = false;
    for (const chat of this.openChats()) {
      if (chat.state !== 'queued') continue;
      const operator = this.eligible();
      if (operator === null) return gave;
      try {
        await this.assign(chat, operator.accountId);
        gave = true;
      } catch (err) {
        this.deps.logger.error({ err, companyId: this.company.id, conversationId: chat.conversationId }, 'could not assign a chat');
        return gave;
      }
    }
    return gave;
  }

  /** The operator the next chat goes to, or null when nobody can take one now. */
  private eligible(): Operator | null {
    const connected = this.deps.connected();
    let best: { operator: Operator; load: number; last: number } | null = null;
    for (const operator of this.operators) {
      if (operator.status !== 'online' || !connected.has(operator.accountId)) continue;
      const load = this.loadOf(operator.accountId);
      if (load >= operator.capacity) continue;
      const last = this.lastAssigned.get(operator.accountId) ?? -Infinity;
      if (best === null || load < best.load || (load === best.load && last < best.last)) best = { operator, load, last };
    }
    return best?.operator ?? null;
  }

  private loadOf(operatorId: string): number {
    let load = 0;
    for (const chat of this.chats.values()) if (chat.state === 'assigned' && chat.operatorId === operatorId) load++;
    return load;
  }

  /** Stored first, then held: an assignment that failed to be kept changes nothing here. */
  private async assign(chat: RoutedChat, operatorId: string): Promise<void> {
    const at = this.deps.clock.now();
    const stored = await this.deps.storage.assignChat(chat.conversationId, operatorId, at);
    if (stored === null) {
      // Ended meanwhile (by another process's hand, or the conversation went): no longer open.
      this.chats.delete(chat.conversationId);
      this.settle(chat.conversationId);
      throw new KnockError('conflict', 'This chat has ended.');
    }
    chat.state = 'assigned';
    chat.operatorId = operatorId;
    chat.assignedAt = at;
    this.lastAssigned.set(operatorId, at);
  }

  // --- plumbing -----------------------------------------------------------------------------------------------------

  private async readOperators(): Promise<void> {
    this.operators = await this.deps.storage.listOperators(this.company.id);
    const ids = new Set(this.operators.map((o) => o.accountId));
    for (const chat of this.chats.values()) {
      if (chat.state === 'assigned' && (chat.operatorId === null || !ids.has(chat.operatorId))) {
        chat.state = 'queued';
        chat.operatorId = null;
        chat.assignedAt = null;
      }
    }
  }

  private operatorNamed(accountId: string, what: string): Operator {
    const operator = this.operators.find((o) => o.accountId === accountId);
    if (!operator) throw new KnockError('forbidden', `Only ${this.company.displayName}\u2019s operators ${what}.`);
    return operator;
  }

  /** An open chat of the company, with a readable refusal for any other conversation. */
  private async openChat(conversationId: string): Promise<RoutedChat> {
    const chat = this.chats.get(conversationId);
    if (chat) return chat;
    const row = await this.deps.storage.getChatAssignment(conversationId);
    if (row === null || row.companyId !== this.company.id) {
      throw new KnockError('not_found', `There is no such chat with ${this.company.displayName}.`);
    }
    throw new KnockError('conflict', 'This chat has ended.');
  }

  private async fromRow(row: ChatAssignment): Promise<RoutedChat> {
    const summary = await this.deps.storage.getConversationSummary(row.conversationId);
    return {
      conversationId: row.conversationId,
      state: row.state === 'assigned' && row.operatorId !== null ? 'assigned' : 'queued',
      operatorId: row.state === 'assigned' ? row.operatorId : null,
      queuedAt: row.queuedAt,
      assignedAt: row.assignedAt,
      visitorName: summary?.visitorName ?? '',
      startedOn: summary?.startedOn ?? null,
    };
  }

  private settle(conversationId: string): void {
    if (this.settled.size >= MAX_SETTLED) this.settled.clear();
    this.settled.add(conversationId);
  }

  /** Runs `work` after every change asked for before it; a failure is the caller's, and the next change runs anyway. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const done = this.work.then(work);
    this.work = done.catch(() => undefined);
    return done;
  }
}
