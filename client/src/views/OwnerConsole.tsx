/**
 * What the owner sees at their own URL: their presence, their conversations and the open one. On a phone
 * (<= 640 px) the list and the conversation take turns, with a Back button.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { CloseCode, type ConversationSummary, type ProfileAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { ownerStore } from '../sdk/browserStore.ts';
import { ConversationSession } from '../sdk/conversationSession.ts';
import { OwnerSession } from '../sdk/userSession.ts';
import { errorText } from '../errorText.ts';
import { useAttachments, useNow, useOpenSession, useSnapshot } from '../useSession.ts';
import { ConversationList, visitorLabel } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import type { PendingAnswer } from './CallPanel.tsx';
import { CopyButton } from './CopyButton.tsx';
import { Link } from './Link.tsx';

export function OwnerConsole({ profile, onLoggedOut }: { profile: ProfileAnswer; onLoggedOut: () => Promise<void> }) {
  const session = useOpenSession(() => OwnerSession.open({ endpoint: location.origin, handle: profile.handle }));
  const snapshot = useSnapshot(session).value;
  const selectedId = useSignal<string | null>(null);
  /** An answer chosen in the console's ring, carried out by the conversation's pane once it rings there too. */
  const pendingAnswer = useSignal<(PendingAnswer & { conversationId: string }) | null>(null);
  const error = useSignal<string | null>(null);
  const now = useNow(30_000);

  const conversations = snapshot?.conversations ?? [];
  const online = snapshot?.online ?? false;
  const unread = conversations.reduce((sum, c) => sum + c.unread, 0);
  useEffect(() => {
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${profile.displayName} — Knock`;
  }, [unread, profile.displayName]);

  /**
   * Logged out, here or elsewhere (another tab, the password changed with the CLI): the replies not sent yet and the
   * copies of documents kept for this owner leave this browser, and the page becomes the visitor page. Once more when
   * the console is gone, in case a last acknowledgement rewrote the outbox meanwhile.
   */
  const loggedOut = useRef(false);
  const forgetOwner = async () => {
    loggedOut.current = true;
    ownerStore.clear();
    await onLoggedOut();
  };
  useEffect(
    () => () => {
      if (loggedOut.current) ownerStore.clear();
    },
    [],
  );
  const logOut = async () => {
    error.value = null;
    try {
      await api.logout();
      await forgetOwner();
    } catch (err) {
      error.value = errorText(err);
    }
  };
  // Closed as logged out, or (re)joined no longer as the owner: the session is gone.
  const endCode = snapshot?.connection === 'closed' ? session?.endReason?.code : undefined;
  const sessionEnded = endCode === CloseCode.loggedOut || endCode === 'unauthorized';
  useEffect(() => {
    if (sessionEnded && !loggedOut.current) void forgetOwner();
  }, [sessionEnded]);

  const selected = conversations.find((c) => c.id === selectedId.value) ?? null;
  // Calls ringing in conversations not on screen (the open one rings in its pane).
  const ringing = (snapshot?.ringing ?? []).filter((r) => r.conversationId !== selectedId.value && (r.ringUntil ?? 0) > Date.now());
  const answer = (conversationId: string, callId: string, action: PendingAnswer['action']) => {
    pendingAnswer.value = { conversationId, callId, action };
    selectedId.value = conversationId;
  };
  return (
    <div class="console">
      <header class="console-bar">
        <Link href="/" class="brand">
          <span class="brand-name">Knock</span>
        </Link>
        <div class="console-me">
          <h1 class="console-name">{profile.displayName}</h1>
          <span class="profile-handle">/{profile.handle}</span>
        </div>
        <p role="status" class={online ? 'presence presence--online' : 'presence'}>
          <span class="presence-dot" aria-hidden="true" />
          You are {online ? 'online' : 'offline'}
        </p>
        <button type="button" class="button button--quiet" onClick={() => void logOut()}>
          Log out
        </button>
      </header>
      {error.value !== null && (
        <p role="alert" class="error error--inline">
          {error.value}
        </p>
      )}
      {ringing.map((r) => (
        <div key={r.callId} class="call-ring call-ring--console" role="alertdialog" aria-label="Incoming call">
          <p>
            <strong>{r.from.name}</strong> is calling you ({r.kind === 'video' ? 'video' : 'voice'} call)…
          </p>
          <button type="button" class="button button--primary" onClick={() => answer(r.conversationId, r.callId, 'accept')}>
            Accept
          </button>
          <button type="button" class="button" onClick={() => answer(r.conversationId, r.callId, 'decline')}>
            Decline
          </button>
        </div>
      ))}
      {snapshot?.connection === 'reconnecting' && (
        <p class="banner" aria-live="polite">
          Connection lost. Reconnecting…
        </p>
      )}
      <div class={selectedId.value === null ? 'console-body' : 'console-body console-body--open'}>
        <aside class="console-list">
          <h2 class="console-list-title">Conversations</h2>
          {snapshot === null || (snapshot.connection === 'connecting' && conversations.length === 0) ? (
            <p class="muted padded">Loading…</p>
          ) : conversations.length === 0 ? (
            <NoConversations handle={profile.handle} />
          ) : null}
          <ConversationList
            conversations={conversations}
            selectedId={selectedId.value}
            now={now}
            onSelect={(id) => (selectedId.value = id)}
          />
        </aside>
        <section class="console-pane" aria-label="Conversation">
          {selectedId.value === null ? (
            <p class="muted centered pane-placeholder">
              {conversations.length === 0 ? 'Conversations will appear here.' : 'Choose a conversation.'}
            </p>
          ) : (
            <OwnerConversationPane
              key={selectedId.value}
              conversationId={selectedId.value}
              summary={selected}
              uploads={profile.uploads}
              onBack={() => (selectedId.value = null)}
              pendingAnswer={pendingAnswer.value?.conversationId === selectedId.value ? pendingAnswer.value : null}
              onAnswered={() => (pendingAnswer.value = null)}
            />
          )}
        </section>
      </div>
    </div>
  );
}

function NoConversations({ handle }: { handle: string }) {
  const url = new URL(`/${handle}`, location.origin).href;
  return (
    <div class="padded no-conversations">
      <p>No conversations yet. Share your URL and people can reach you here:</p>
      <p class="share-url">
        <a href={`/${handle}`}>{url}</a> <CopyButton text={url} />
      </p>
    </div>
  );
}

function OwnerConversationPane({
  conversationId,
  summary,
  uploads,
  onBack,
  pendingAnswer,
  onAnswered,
}: {
  conversationId: string;
  summary: ConversationSummary | null;
  uploads: ProfileAnswer['uploads'];
  onBack: () => void;
  pendingAnswer: PendingAnswer | null;
  onAnswered: () => void;
}) {
  const session = useOpenSession(() =>
    ConversationSession.open({ endpoint: location.origin, conversationId, store: ownerStore }),
  );
  const snapshot = useSnapshot(session).value;
  const draft = useSignal('');
  const attachments = useAttachments(uploads, { conversationId });
  const title = summary === null ? 'Visitor' : visitorLabel(summary);
  return (
    <>
      <header class="pane-header">
        <button type="button" class="button button--quiet back" onClick={onBack}>
          <span aria-hidden="true">‹ </span>Back
        </button>
        <h2 class="pane-title">{title}</h2>
      </header>
      {session !== null && snapshot !== null ? (
        <ConversationView
          session={session}
          snapshot={snapshot}
          draft={draft}
          attachments={attachments}
          peerName={title}
          pendingAnswer={pendingAnswer}
          onAnswered={onAnswered}
          emptyHint={<p>No messages yet.</p>}
        />
      ) : (
        <div class="message-scroller">
          <p class="muted centered">Connecting…</p>
        </div>
      )}
    </>
  );
}
