/**
 * The logic of one IM URL (DESIGN "UserRoom"), free of Colyseus: the owner's presence (how many of their devices
 * are online), what visitors see of it, and the owner's live conversation list.
 *
 * Presence across processes: this room is the one writer of the owner's "online" (one UserRoom per handle in the
 * cluster). While the owner's devices are here, `tick()` renews the lease (engine/hub.ts) so it outlives no crash
 * of this process by more than its TTL; while they are not, `tick()` re-reads it, so visitors here also learn when
 * the process that held the owner's devices died without a word.
 *
 * A company's URL (issue 19) is online while one of its operators whose status is not "away" has a console open here:
 * the operators' statuses are read when a console joins, on the hub's `team` event, and on every tick.
 */
import type { Logger } from '../../engine/logger.ts';
import type { Hub, OwnerEvent, PresenceEvent } from '../../engine/hub.ts';
import type { Account, Storage } from '../../engine/ports/storage.ts';
import type { UserServerMessages } from '../../engine/protocol.ts';
import { CloseCode } from '../../engine/errors.ts';
import { OwnerPresence } from '../ownerPresence.ts';
import { systemClock, type Clock } from '../../engine/ports/clock.ts';
import { assertNever, deliver, goLive, type Peer } from '../peer.ts';

export type UserPeer = Peer<UserServerMessages>;

export interface UserDeps {
  storage: Storage;
  /** For ring deadlines; the system clock when absent. */
  clock?: Clock;
  /** `ringingCalls` is optional: without it, a tab opened while a call rings learns of it when the call changes. */
  hub: Pick<Hub, 'setOnline' | 'renewOnline' | 'isOnline'> & Partial<Pick<Hub, 'ringingCalls'>>;
  logger: Logger;
}

/** How many conversations the owner's console receives at once. */
const LIST_LIMIT = 200;

export class UserLogic {
  private readonly owners = new Map<string, UserPeer>();
  private readonly visitors = new Map<string, UserPeer>();
  /** Whether the owner's devices here make the owner online (what this room last wrote, or is writing). */
  private online = false;
  /** Presence writes run in order, so a quick leave-then-join cannot end "offline" while a device is online. */
  private presenceQueue: Promise<void> = Promise.resolve();
  /** The owner's presence as the hub tells it (devices here or, in a cluster, anywhere). */
  private readonly ownerPresence: OwnerPresence;
  /** What each active visitor was last told, so a belief that only catches up with the truth sends nothing. */
  private readonly told = new Map<string, boolean>();
  /** A company's operators who are not away (their person ids); null for a person's URL, where every device counts. */
  private available: Set<string> | null = null;
  /** Whether the account is a company: read once, at the first owner's join. */
  private company: Promise<boolean> | null = null;

  constructor(
    private readonly deps: UserDeps,
    readonly account: Account,
  ) {
    this.ownerPresence = new OwnerPresence({
      read: () => deps.hub.isOnline(account.handle),
      onChange: (online) => this.tellVisitors(online),
      logger: deps.logger,
    });
  }

  get peerCount(): number {
    return this.owners.size + this.visitors.size;
  }

  async join(peer: UserPeer): Promise<void> {
    peer.state = { kind: 'joining', buffered: [] };
    if (peer.identity.role === 'owner' && peer.identity.accountId !== this.account.id) {
      // An owner of another account: never this account's console, and never its presence.
      peer.state = { kind: 'draining' };
      peer.transport.close(CloseCode.forbidden, 'You are not the owner of this address.');
      return;
    }
    if (peer.identity.role === 'owner') {
      this.owners.set(peer.id, peer);
      await this.readTeam();
      const conversations = await this.deps.storage.listConversations(this.account.id, { limit: LIST_LIMIT });
      this.updatePresence();
      peer.transport.send('welcome', {
        role: 'owner',
        account: { handle: this.account.handle, displayName: this.account.displayName },
        conversations,
        online: true,
      });
      // Calls ringing now ring this tab too; their ends, if they come meanwhile, wait in its buffer and follow.
      const ringing = await this.deps.hub.ringingCalls?.(this.account.handle, (this.deps.clock ?? systemClock).now()).catch((err: unknown) => {
        this.deps.logger.error({ err, handle: this.account.handle }, 'could not read ringing calls');
        return [];
      });
      if (!this.owners.has(peer.id)) return; // left while joining
      for (const call of ringing ?? []) peer.transport.send('call', call);
    } else {
      this.visitors.set(peer.id, peer);
      // Changes that come while this visitor joins are in the belief the welcome is built from (tellVisitors
      // skips joining visitors), so the welcome is never followed by an older presence.
      const online = this.online || (await this.ownerPresence.current());
      if (!this.visitors.has(peer.id)) return; // left while joining
      this.told.set(peer.id, online);
      peer.transport.send('welcome', {
        role: 'visitor',
        owner: { handle: this.account.handle, displayName: this.account.displayName },
        online,
      });
    }
    // Events that came while the welcome was on its way follow it, so the welcome never overwrites newer news.
    goLive(peer);
  }

  leave(peerId: string): void {
    const wasOwner = this.owners.delete(peerId);
    this.visitors.delete(peerId);
    this.told.delete(peerId);
    if (wasOwner) this.updatePresence();
  }

  /**
   * Called every `hub.presenceRefreshMs` by the room: renews the owner's "online" while their devices are here,
   * otherwise re-reads it (the process holding their devices may have died). Resolves when done; never rejects.
   */
  tick(): Promise<void> {
    if (this.owners.size === 0) return this.ownerPresence.refresh();
    // The CLI changes an operator's status without telling anyone: the tick catches it.
    if (this.available !== null) void this.readTeam().then(() => this.updatePresence());
    const handle = this.account.handle;
    // In the write queue, so a renewal can never land after the "offline" of a leave and revive it.
    this.presenceQueue = this.presenceQueue
      .then(() => (this.online ? this.deps.hub.renewOnline(handle) : undefined))
      .catch((err: unknown) => this.deps.logger.error({ err, handle }, 'could not renew presence'));
    return this.presenceQueue;
  }

  /** Events about this owner from anywhere (other processes included). */
  onPresenceEvent(event: PresenceEvent): void {
    if (event.type === 'online') {
      this.ownerPresence.heard(event.online);
      return;
    }
    for (const peer of this.owners.values()) {
      if (peer.identity.sessionHash === event.sessionHash) peer.transport.close(CloseCode.loggedOut, 'You logged out.');
    }
  }

  onOwnerEvent(event: OwnerEvent): void {
    switch (event.type) {
      case 'conversation':
        for (const peer of this.owners.values()) deliver(peer, 'conversation', event.summary);
        return;
      case 'call':
        for (const peer of this.owners.values()) deliver(peer, 'call', event.call);
        return;
      case 'team':
        // An operator went away or came back (the console reads the rest of the team over the API).
        if (this.owners.size > 0) void this.readTeam().then(() => this.updatePresence());
        return;
      default:
        assertNever(event);
    }
  }

  /** Marks the owner offline if devices were still here; resolves when presence is written. */
  async dispose(): Promise<void> {
    this.owners.clear();
    this.visitors.clear();
    this.told.clear();
    this.updatePresence();
    await this.presenceQueue;
  }

  /** Visitors who are joining learn it from their welcome. */
  private tellVisitors(online: boolean): void {
    for (const peer of this.visitors.values()) {
      if (peer.state.kind !== 'active' || this.told.get(peer.id) === online) continue;
      this.told.set(peer.id, online);
      peer.transport.send('presence', { online });
    }
  }

  /** A company's operators who are not away, re-read; nothing for a person's URL. Never rejects. */
  private async readTeam(): Promise<void> {
    try {
      this.company ??= this.deps.storage.getCompany(this.account.id).then((c) => c !== null);
      if (!(await this.company)) return;
      const operators = await this.deps.storage.listOperators(this.account.id);
      this.available = new Set(operators.filter((o) => o.status === 'online').map((o) => o.accountId));
    } catch (err) {
      this.company = null;
      this.deps.logger.error({ err, handle: this.account.handle }, 'could not read the team');
    }
  }

  /** A device that makes the URL online: any of a person's; an operator's who is not away (or the company's own login). */
  private counts(peer: UserPeer): boolean {
    const person = peer.identity.person;
    return this.available === null || person === undefined || this.available.has(person);
  }

  private updatePresence(): void {
    const online = [...this.owners.values()].some((peer) => this.counts(peer));
    if (online === this.online) return;
    this.online = online;
    const handle = this.account.handle;
    this.presenceQueue = this.presenceQueue
      .then(() => this.deps.hub.setOnline(handle, online))
      .catch((err: unknown) => this.deps.logger.error({ err, handle }, 'could not record presence'));
  }
}
