/**
 * What an attacker aims at, built the way people build it (HTTP API and real colyseus.js sockets), on any Knock
 * (in-process or a process of a cluster): an owner's "territory" with one room of every type open and its roomId
 * known, as anyone sees it who joins it:
 * - the owner's URL (UserRoom), held open by an anonymous visitor (so the owner is offline unless a test says so);
 * - a conversation with a visitor (ConversationRoom), the visitor's token, and the owner logged in elsewhere;
 * - a shared document in it (DocRoom), created by the visitor;
 * - a Connect Four game in it (GameRoom), invited by the visitor and accepted by the owner.
 *
 * @example
 *   const alice = await Territory.build(knock.url, 'alice', (h) => knock.addUser(h, 'Alice'));
 *   alice.roomIds.game; // the game room's id, as a member's join reveals it
 *   await alice.close();
 */
import type { GameRecord } from '../../engine/protocol.ts';
import { Person, waitFor } from './clients.ts';
import { RawRoom } from './rawRoom.ts';

export type RoomType = 'user' | 'conversation' | 'doc' | 'game';

export class Territory {
  private constructor(
    readonly handle: string,
    /** The owner, logged in (its `headers` carry the session cookie). */
    readonly owner: Person,
    readonly conversationId: string,
    /** The visitor's conversation token (their cookie / resume link). */
    readonly token: string,
    readonly docId: string,
    readonly gameId: string,
    /** The rooms held open, by type. */
    readonly rooms: Readonly<Record<RoomType, RawRoom>>,
    private readonly extra: RawRoom[],
  ) {}

  static async build(base: string, handle: string, addUser: (handle: string) => Promise<void>): Promise<Territory> {
    await addUser(handle);
    const owner = new Person(base);
    await owner.login(handle);
    const visitorApi = new Person(base).api;
    const { conversationId, token } = await visitorApi.knock(handle, 'Vic');
    const opened: RawRoom[] = [];
    const open = async (name: RoomType, options: Record<string, unknown>, headers?: Record<string, string>) => {
      const room = await RawRoom.join(base, name, options, headers);
      opened.push(room);
      await waitFor(room, (s) => s.of('welcome').length >= 1, `${name} welcome`);
      return room;
    };
    try {
      const user = await open('user', { handle });
      const conversation = await open('conversation', { conversationId, token });
      const ownerConversation = await open('conversation', { conversationId }, owner.headers);
      conversation.send('doc.create', { title: 'Plans' });
      const docId = (await waitFor(conversation, (s) => s.of('doc.created').length === 1, 'doc.created')).of<{ docId: string }>('doc.created')[0]!.docId;
      conversation.send('game.invite', { kind: 'connect4' });
      const invited = (await waitFor(ownerConversation, (s) => s.of<GameRecord>('game').some((g) => g.status === 'invited'), 'the invitation'))
        .of<GameRecord>('game')
        .find((g) => g.status === 'invited')!;
      ownerConversation.send('game.answer', { gameId: invited.id, accept: true });
      await waitFor(conversation, (s) => s.of<GameRecord>('game').some((g) => g.id === invited.id && g.status === 'active'), 'the game accepted');
      const doc = await open('doc', { docId, token });
      const game = await open('game', { gameId: invited.id, conversationId, token });
      return new Territory(handle, owner, conversationId, token, docId, invited.id, { user, conversation, doc, game }, [ownerConversation]);
    } catch (err) {
      await Promise.all(opened.map((r) => r.leave()));
      throw err;
    }
  }

  get roomIds(): Record<RoomType, string> {
    const { user, conversation, doc, game } = this.rooms;
    return { user: user.room.roomId, conversation: conversation.room.roomId, doc: doc.room.roomId, game: game.room.roomId };
  }

  /** The join options of this territory's room of `type`, as its visitor (with the token) would send them. */
  visitorOptions(type: RoomType): Record<string, unknown> {
    switch (type) {
      case 'user':
        return { handle: this.handle };
      case 'conversation':
        return { conversationId: this.conversationId, token: this.token };
      case 'doc':
        return { docId: this.docId, token: this.token };
      case 'game':
        return { gameId: this.gameId, conversationId: this.conversationId, token: this.token };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.rooms), ...this.extra].map((r) => r.leave()));
  }
}
