/**
 * Reading a call off a conversation room's raw messages (test/support/rawRoom.ts), as the call tests do: the last
 * `call.state` and `call.ticket` a socket heard, and waits for one that says what the test expects.
 *
 * @example
 *   const { callId } = await stateIs(visitor, 'ringing', (s) => s.status === 'ringing');
 *   const ticket = await sfuTicket(tab3); // its pass to the conference server
 */
import type { ConversationServerMessages } from '../../engine/protocol.ts';
import { waitFor } from './clients.ts';
import type { RawRoom, RawRoomSnapshot } from './rawRoom.ts';

export type CallState = ConversationServerMessages['call.state'];
export type CallTicket = ConversationServerMessages['call.ticket'];

export const lastState = (s: RawRoomSnapshot): CallState | undefined => s.of<CallState>('call.state').at(-1);
export const lastTicket = (s: RawRoomSnapshot): CallTicket | undefined => s.of<CallTicket>('call.ticket').at(-1);

/** The first call state (the last one heard, then each new one) for which `predicate` holds. */
export function stateIs(room: RawRoom, what: string, predicate: (s: CallState) => boolean, timeoutMs?: number): Promise<CallState> {
  return waitFor(room, (s) => {
    const last = lastState(s);
    return last !== undefined && predicate(last);
  }, what, timeoutMs).then((s) => lastState(s)!);
}

/** The socket's ticket once it says the call goes through the conference server (the SFU). */
export async function sfuTicket(room: RawRoom): Promise<CallTicket> {
  return lastTicket(await waitFor(room, (s) => lastTicket(s)?.mode === 'sfu', 'an sfu ticket', 10_000))!;
}
