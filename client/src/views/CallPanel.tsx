/**
 * The call of a conversation, for the visitor and the owner alike: the "Voice call" and "Video call" buttons, the ring
 * ("Accept", "Decline"), "Join call" for a call going on without this device, refusals ("This call is full…"), and,
 * while this device is in the call, the call stage (videos and controls). The stage and the media code load on
 * demand (a separate chunk), so the visitor page stays light.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { sessionStore } from '../sdk/browserStore.ts';
import { CallSession, type CallSnapshot } from '../sdk/callSession.ts';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import { useSnapshot } from '../useSession.ts';
import { DismissableError } from './DismissableError.tsx';
import type { CallStageProps } from './CallStage.tsx';

/** What the owner chose in the console's ring for a conversation not open then: done once the pane rings too. */
export interface PendingAnswer {
  callId: string;
  action: 'accept' | 'decline';
}

export interface CallPanelProps {
  session: ConversationSession;
  /** The conversation's connection is up (calls start only then). */
  live: boolean;
  /** The other side, as the buttons' context says it ("Call Alice"). */
  peerName: string;
  pendingAnswer?: PendingAnswer | null;
  onAnswered?: () => void;
}

/** How long "Call ended" stays after this device's call ended. */
const ENDED_SHOWN_MS = 4000;

export function CallPanel({ session, live, peerName, pendingAnswer, onAnswered }: CallPanelProps) {
  const call = useCallSession(session);
  const snapshot = useSnapshot(call).value;
  const Stage = useStageModule(snapshot);
  const justEnded = useJustEnded(snapshot);

  useEffect(() => {
    if (!call || !snapshot || !pendingAnswer) return;
    if (snapshot.phase === 'incoming' && snapshot.ring?.callId === pendingAnswer.callId) {
      if (pendingAnswer.action === 'accept') call.accept();
      else call.decline();
      onAnswered?.();
    } else if (snapshot.call?.callId === pendingAnswer.callId && snapshot.phase !== 'idle' && snapshot.phase !== 'incoming') {
      onAnswered?.(); // answered elsewhere, or over
    }
  }, [call, snapshot, pendingAnswer, onAnswered]);

  if (!call || !snapshot) return null;
  const { phase } = snapshot;
  const inCall = phase === 'outgoing' || phase === 'active' || phase === 'rejoining';
  return (
    <div class="call-panel">
      {!inCall && phase !== 'incoming' && (
        <div class="call-buttons">
          {phase === 'elsewhere' ? (
            <>
              <span class="muted">A call is going on.</span>
              <button type="button" class="button button--small" onClick={() => call.join()}>
                Join call
              </button>
            </>
          ) : (
            <>
              <button type="button" class="button button--small" disabled={!live} title={`Voice call with ${peerName}`} onClick={() => call.start('audio')}>
                Voice call
              </button>
              <button type="button" class="button button--small" disabled={!live} title={`Video call with ${peerName}`} onClick={() => call.start('video')}>
                Video call
              </button>
            </>
          )}
          {justEnded && (
            <p class="call-status" aria-live="polite">
              Call ended
            </p>
          )}
        </div>
      )}
      {phase === 'incoming' && snapshot.ring && (
        <div class="call-ring" role="alertdialog" aria-label="Incoming call">
          <p>
            <strong>{snapshot.ring.from.name}</strong> is calling you ({snapshot.ring.kind === 'video' ? 'video' : 'voice'} call)…
          </p>
          <button type="button" class="button button--primary" onClick={() => call.accept()}>
            Accept
          </button>
          <button type="button" class="button" onClick={() => call.decline()}>
            Decline
          </button>
        </div>
      )}
      {snapshot.error !== null && <DismissableError message={snapshot.error.message} onDismiss={() => call.clearError()} />}
      {inCall &&
        (Stage ? (
          <Stage call={call} snapshot={snapshot} conversation={session} />
        ) : (
          <p class="call-status" aria-live="polite">
            Connecting…
          </p>
        ))}
    </div>
  );
}

/** One CallSession per conversation session, for as long as the panel is mounted. */
function useCallSession(session: ConversationSession): CallSession | null {
  const [call, setCall] = useState<CallSession | null>(null);
  useEffect(() => {
    const attached = CallSession.attach(session, { store: sessionStore });
    setCall(attached);
    return () => attached.close();
  }, [session]);
  return call;
}

/** The stage's chunk, fetched as soon as a call rings or starts (so it is there when the person answers). */
function useStageModule(snapshot: CallSnapshot | null): ComponentType<CallStageProps> | null {
  const [Stage, setStage] = useState<ComponentType<CallStageProps> | null>(null);
  const wanted = snapshot !== null && snapshot.phase !== 'idle' && snapshot.phase !== 'ended';
  useEffect(() => {
    if (!wanted || Stage) return;
    let cancelled = false;
    import('./CallStage.tsx').then(
      (m) => !cancelled && setStage(() => m.CallStage),
      (err: unknown) => console.error('Could not load the call screen:', err),
    );
    return () => {
      cancelled = true;
    };
  }, [wanted, Stage]);
  return Stage;
}

/** True for a few seconds after a call this device was in has ended. */
function useJustEnded(snapshot: CallSnapshot | null): boolean {
  const wasIn = useRef<string | null>(null);
  const [endedCall, setEndedCall] = useState<string | null>(null);
  const phase = snapshot?.phase;
  const callId = snapshot?.call?.callId ?? null;
  useEffect(() => {
    if (phase === 'outgoing' || phase === 'active' || phase === 'rejoining') wasIn.current = callId;
    else if (wasIn.current !== null && (phase === 'ended' || phase === 'idle' || phase === 'elsewhere')) {
      setEndedCall(wasIn.current);
      wasIn.current = null;
    }
  }, [phase, callId]);
  useEffect(() => {
    if (endedCall === null) return undefined;
    const timer = setTimeout(() => setEndedCall(null), ENDED_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [endedCall]);
  return endedCall !== null;
}
