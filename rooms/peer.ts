/**
 * A connection as the plain room logic sees it (CONVENTIONS 1, 4): transport-free, so unit tests drive the logic
 * with fake transports while the Colyseus shells wire real sockets to it.
 */
import type { Role } from '../engine/protocol.ts';
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
