/**
 * The logic of one IM URL (DESIGN "UserRoom"), free of Colyseus: the owner's presence (how many of their devices
 * are online), what visitors see of it, and the owner's live conversation list.
 */
import type { Logger } from '../../engine/logger.ts';
import type { Hub, OwnerEvent, PresenceEvent } from '../../engine/hub.ts';
import type { Account, Storage } from '../../engine/ports/storage.ts';
import type { UserServerMessages } from '../../engine/protocol.ts';
import { CloseCode } from '../../engine/errors.ts';
import { assertNever, type Peer } from '../peer.ts';

export type UserPeer = Peer<UserServerMessages>;

export interface UserDeps {
  storage: Storage;
  hub: Pick<Hub, 'setOnline' | 'isOnline'>;
  logger: Logger;
}

/** How many conversations the owner's console receives at once. */
const LIST_LIMIT = 200;

export class UserLogic {
  private readonly owners = new Map<string, UserPeer>();
  private readonly visitors = new Map<string, UserPeer>();
  private online = false;
  /** Presence writes run in order, so a quick leave-then-join cannot end "offline" while a device is online. */
  private presenceQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: UserDeps,
    readonly account: Account,
  ) {}

  get peerCount(): number {
    return this.owners.size + this.visitors.size;
  }

  async join(peer: UserPeer): Promise<void> {
    peer.state = { kind: 'joining', buffered: [] };
    if (peer.identity.role === 'owner') {
      this.owners.set(peer.id, peer);
      const conversations = await this.deps.storage.listConversations(this.account.id, { limit: LIST_LIMIT });
      this.updatePresence();
      peer.transport.send('welcome', {
        role: 'owner',
        account: { handle: this.account.handle, displayName: this.account.displayName },
        conversations,
        online: true,
      });
    } else {
      this.visitors.set(peer.id, peer);
      peer.transport.send('welcome', {
        role: 'visitor',
        owner: { handle: this.account.handle, displayName: this.account.displayName },
        online: this.online || (await this.deps.hub.isOnline(this.account.handle)),
      });
    }
    this.goLive(peer);
  }

  /** Events that came while the welcome was on its way follow it, so the welcome never overwrites newer news. */
  private goLive(peer: UserPeer): void {
    if (peer.state.kind !== 'joining') return;
    const { buffered } = peer.state;
    peer.state = { kind: 'active' };
    for (const event of buffered) peer.transport.send(event.type, event.payload);
  }

  private deliver<T extends keyof UserServerMessages & string>(peer: UserPeer, type: T, payload: UserServerMessages[T]): void {
    const state = peer.state;
    switch (state.kind) {
      case 'joining':
        state.buffered.push({ type, payload });
        break;
      case 'active':
        peer.transport.send(type, payload);
        break;
      case 'draining':
        break;
      default:
        assertNever(state);
    }
  }

  leave(peerId: string): void {
    const wasOwner = this.owners.delete(peerId);
    this.visitors.delete(peerId);
    if (wasOwner) this.updatePresence();
  }

  /** Events about this owner from anywhere (other processes included). */
  onPresenceEvent(event: PresenceEvent): void {
    if (event.type === 'online') {
      for (const peer of this.visitors.values()) this.deliver(peer, 'presence', { online: event.online });
      return;
    }
    for (const peer of this.owners.values()) {
      if (peer.identity.sessionHash === event.sessionHash) peer.transport.close(CloseCode.loggedOut, 'You logged out.');
    }
  }

  onOwnerEvent(event: OwnerEvent): void {
    for (const peer of this.owners.values()) this.deliver(peer, 'conversation', event.summary);
  }

  /** Marks the owner offline if devices were still here; resolves when presence is written. */
  async dispose(): Promise<void> {
    this.owners.clear();
    this.visitors.clear();
    this.updatePresence();
    await this.presenceQueue;
  }

  private updatePresence(): void {
    const online = this.owners.size > 0;
    if (online === this.online) return;
    this.online = online;
    const handle = this.account.handle;
    this.presenceQueue = this.presenceQueue
      .then(() => this.deps.hub.setOnline(handle, online))
      .catch((err: unknown) => this.deps.logger.error({ err, handle }, 'could not record presence'));
  }
}
