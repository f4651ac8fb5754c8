/**
 * A connection as the plain room logic sees it (CONVENTIONS 1, 4): transport-free, so unit tests drive the logic
 * with fake transports while the Colyseus shells wire real sockets to it.
 */
import { asKnockError } from '../engine/errors.ts';
import type { Logger } from '../engine/logger.ts';
import type { ErrorPayload, Role } from '../engine/protocol.ts';
import type { TokenBucket } from '../engine/rateLimit.ts';

export interface PeerTransport<Messages> {
  send<T extends keyof Messages & string>(type: T, payload: Messages[T]): void;
  /** Closes the connection with a Knock close code (engine/errors.ts CloseCode). */
  close(code: number, reason: string): void;
}

/** Joining: welcome and catch-up are on their way, live events wait in `buffered` so order is kept. */
export type PeerState<Messages> =
  | { kind: 'joining'; buffered: Array<{ type: keyof Messages & string; payload: Messages[keyof Messages] }> }
  | { kind: 'active' }
  | { kind: 'draining' };

export interface Identity {
  role: Role;
  /** The participant in a conversation (ConversationRoom) or null (UserRoom). */
  participantId: string | null;
  accountId: string | null;
  /** Hash of the session token the owner joined with, so a logout can close exactly its sockets. */
  sessionHash: string | null;
  name: string;
  /**
   * The signed-in person acting for `accountId` when that is not their own account: a company's operator at the
   * company's URL (issue 19). Absent otherwise.
   */
  person?: string;
  /**
   * A visitor's address as blocks know it (issue 22): the keyed hash of the address key they joined from
   * (engine/visitorBlocks.ts), never the address itself. Absent for owners, and when it could not be made.
   */
  addressHash?: string;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected state: ${JSON.stringify(value)}`);
}

export interface Peer<Messages> {
  readonly id: string;
  readonly identity: Identity;
  readonly transport: PeerTransport<Messages>;
  state: PeerState<Messages>;
  readonly messageBucket: TokenBucket;
  readonly signalBucket: TokenBucket;
}

/** Sends to an active peer now, to a joining one after its welcome and catch-up, to a draining one never. */
export function deliver<M, T extends keyof M & string>(peer: Peer<M>, type: T, payload: M[T]): void {
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

/**
 * Ends a peer's joining state once its welcome (and catch-up) went out: what arrived meanwhile follows, in order,
 * except the events `alreadySent` says the catch-up carried. False if the peer left while joining.
 */
export function goLive<M>(peer: Peer<M>, alreadySent: (type: keyof M & string, payload: M[keyof M]) => boolean = () => false): boolean {
  if (peer.state.kind !== 'joining') return false;
  const { buffered } = peer.state;
  peer.state = { kind: 'active' };
  for (const event of buffered) if (!alreadySent(event.type, event.payload)) peer.transport.send(event.type, event.payload as M[keyof M & string]);
  return true;
}

/**
 * The one way a room's logic answers a message it could not carry out: an `error` to that peer, with `ref` (the
 * message's clientMsgId or type) so the client knows which; an unexpected failure is logged with `context` as well.
 */
export function replyError<M extends { error: ErrorPayload }>(peer: { readonly transport: PeerTransport<M> }, err: unknown, ref: string, logger: Pick<Logger, 'error'>, context: object): void {
  const error = asKnockError(err);
  if (error.code === 'internal') logger.error({ err, ...context }, 'handler failed');
  peer.transport.send('error' as keyof M & string, { ...error.toJSON(), ref } as M[keyof M & string]);
}
