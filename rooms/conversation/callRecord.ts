/**
 * What a call leaves in the conversation once it ends: one `call` event from the caller (protocol: conversation
 * events), written through the ConversationLog under the idempotency key `call:<callId>` (writing it twice stores it
 * once), whose body says what happened in words ("Call, 12 min", "Missed call", "Declined video call").
 */
import type { LogEntry } from '../../engine/conversationLog.ts';
import type { CallEndReason, CallKind } from '../../engine/protocol.ts';

/** The entry a call that ended writes in its conversation. */
export function callRecordEntry(call: { id: string; kind: CallKind; callerId: string }, reason: CallEndReason, durationMs: number): LogEntry {
  return {
    senderId: call.callerId,
    idempotencyKey: `call:${call.id}`,
    body: callRecordText(call.kind, reason, durationMs),
    event: { kind: 'call', callId: call.id, media: call.kind, reason, durationMs: Math.max(0, Math.round(durationMs)) },
  };
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
