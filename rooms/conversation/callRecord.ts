/**
 * What a call leaves in the conversation once it ends: one message from the caller, through the normal storage path,
 * whose body says what happened ("Call, 12 min", "Missed call", "Declined video call").
 *
 * Its clientMsgId is `call:<callId>`: storing it twice stores it once (idempotent like every message), and no client
 * can forge one, since clients' ids cannot hold ":" (protocol clientMsgIdSchema). So a view may show these messages as
 * call records by that prefix alone.
 */
import type { CallEndReason, CallKind } from '../../engine/protocol.ts';

export const CALL_RECORD_PREFIX = 'call:';

export function callRecordId(callId: string): string {
  return `${CALL_RECORD_PREFIX}${callId}`;
}

export function isCallRecord(clientMsgId: string): boolean {
  return clientMsgId.startsWith(CALL_RECORD_PREFIX);
}

/** "45 s", "12 min", "1 h 05 min". */
export function formatCallDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

export function callRecordText(kind: CallKind, reason: CallEndReason, durationMs: number): string {
  const noun = kind === 'video' ? 'video call' : 'call';
  switch (reason) {
    case 'completed':
      return `${kind === 'video' ? 'Video call' : 'Call'}, ${formatCallDuration(durationMs)}`;
    case 'missed':
    case 'cancelled':
      return `Missed ${noun}`;
    case 'declined':
      return `Declined ${noun}`;
  }
}
