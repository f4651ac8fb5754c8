/**
 * What the owner sees at their own URL: their presence, their conversations (searched and filtered through the
 * Inbox, with the storage their files use) and the open one, with its actions. On a phone (<= 640 px) the list and
 * the conversation take turns, with a Back button.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { CloseCode, type ConversationSummary, type InboxFilter, type ProfileAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { ownerStore } from '../sdk/browserStore.ts';
import { ConversationSession } from '../sdk/conversationSession.ts';
import { Inbox } from '../sdk/inbox.ts';
import { OwnerSession } from '../sdk/userSession.ts';
import { errorText } from '../errorText.ts';
import { formatBytes } from '../sizeFormat.ts';
import { useAttachments, useNow, useOpenSession, useSnapshot } from '../useSession.ts';
import { ConversationActions } from './ConversationActions.tsx';
import { ConversationList, focusConversation, focusFirstConversation, visitorLabel } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import type { PendingAnswer } from './CallPanel.tsx';
import { CopyButton } from './CopyButton.tsx';
import { InboxControls } from './InboxControls.tsx';
import { Link } from './Link.tsx';

export function OwnerConsole({ profile, onLoggedOut }: { profile: ProfileAnswer; onLoggedOut: () => Promise<void> }) {
  const session = useOpenSession(() => OwnerSession.open({ endpoint: location.origin, handle: profile.handle }));
  const snapshot = useSnapshot(session).value;
  const selectedId = useSignal<string | null>(null);
  /** An answer chosen in the console's ring, carried out by the conversation's pane once it rings there too. */
  const pendingAnswer = useSignal<(PendingAnswer & { conversationId: string }) | null>(null);
  const error = useSignal<string | null>(null);
  /** What the last action on a conversation did ("Archived the conversation with Bob."), said politely. */
  const notice = useSignal<string | null>(null);
  const now = useNow(30_000);
  const inbox = useInbox(session);
  const listed = useSnapshot(inbox).value;
  const listAside = useRef<HTMLElement>(null);

  // Every conversation the session knows (archived ones too): the open one keeps its title whatever the list shows.
  const conversations = snapshot?.conversations ?? [];
  const online = snapshot?.online ?? false;
  // Suspicious mail is kept out of sight (the Suspicious filter): it does not call for attention in the tab's title.
  const unread = conversations.reduce((sum, c) => sum + (c.suspicious === true ? 0 : c.unread), 0);
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
  const shown = listed?.conversations ?? [];
  /** Back to the list, the focus on the conversation just closed (or the first one, or the search box). */
  const closePane = (closedId: string) => {
    selectedId.value = null;
    requestAnimationFrame(() => {
      if (focusConversation(listAside.current, closedId) || focusFirstConversation(listAside.current)) return;
      listAside.current?.querySelector<HTMLInputElement>('input[type="search"]')?.focus();
    });
  };
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
        <aside class="console-list" ref={listAside}>
          <h2 class="console-list-title">Conversations</h2>
          {inbox !== null && listed !== null && (
            <InboxControls
              query={listed.query}
              filter={listed.filter}
              onQuery={(q) => inbox.setQuery(q)}
              onFilter={(f) => inbox.setFilter(f)}
              onLeaveDown={() => focusFirstConversation(listAside.current)}
            />
          )}
          <p class="inbox-notice" aria-live="polite">
            {notice.value}
          </p>
          {listed?.error != null && (
            <p role="alert" class="error error--inline">
              {listed.error}
            </p>
          )}
          {snapshot === null || (snapshot.connection === 'connecting' && conversations.length === 0) ? (
            <p class="muted padded">Loading…</p>
          ) : conversations.length === 0 && (listed === null || (listed.query.trim() === '' && listed.filter === 'all')) ? (
            <NoConversations handle={profile.handle} />
          ) : shown.length === 0 && listed !== null ? (
            <p class="muted padded">{listed.loading ? 'Searching…' : emptyListText(listed.query, listed.filter)}</p>
          ) : null}
          <ConversationList
            conversations={shown}
            selectedId={selectedId.value}
            now={now}
            onSelect={(id) => {
              notice.value = null;
              selectedId.value = id;
            }}
          />
          {listed?.quota != null && <Quota usedBytes={listed.quota.usedBytes} limitBytes={listed.quota.limitBytes} />}
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
              inbox={inbox}
              uploads={profile.uploads}
              onBack={() => (selectedId.value = null)}
              onDone={(id, text) => {
                notice.value = text;
                closePane(id);
              }}
              pendingAnswer={pendingAnswer.value?.conversationId === selectedId.value ? pendingAnswer.value : null}
              onAnswered={() => (pendingAnswer.value = null)}
            />
          )}
        </section>
      </div>
    </div>
  );
}

/** The Inbox over the owner's live session, for as long as the console shows. */
function useInbox(session: OwnerSession | null): Inbox | null {
  const [inbox, setInbox] = useState<Inbox | null>(null);
  useEffect(() => {
    if (session === null) return undefined;
    const created = new Inbox({ owner: session, api });
    created.refresh();
    setInbox(created);
    return () => created.close();
  }, [session]);
  return inbox;
}

function emptyListText(query: string, filter: InboxFilter): string {
  if (query.trim() !== '') return 'No conversation matches this search.';
  switch (filter) {
    case 'unread':
      return 'No unread conversations.';
    case 'files':
      return 'No conversations with files.';
    case 'archived':
      return 'No archived conversations.';
    case 'suspicious':
      return 'No suspicious mail.';
    case 'all':
      return 'No conversations in your inbox: archived ones are under Archived.';
  }
}

/** "120 MB of 1 GB used": what the owner's files take of their storage. */
function Quota({ usedBytes, limitBytes }: { usedBytes: number; limitBytes: number }) {
  return <p class="quota">{limitBytes > 0 ? `${formatBytes(usedBytes)} of ${formatBytes(limitBytes)} used` : `${formatBytes(usedBytes)} used`}</p>;
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
  inbox,
  uploads,
  onBack,
  onDone,
  pendingAnswer,
  onAnswered,
}: {
  conversationId: string;
  summary: ConversationSummary | null;
  inbox: Inbox | null;
  uploads: ProfileAnswer['uploads'];
  onBack: () => void;
  /** An action closed the conversation (archived, marked unread, deleted); `notice` says what happened. */
  onDone: (conversationId: string, notice: string) => void;
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
  const email = summary?.visitorEmail ?? null;
  return (
    <>
      <header class="pane-header">
        <button type="button" class="button button--quiet back" onClick={onBack}>
          <span aria-hidden="true">‹ </span>Back
        </button>
        <div class="pane-heading">
          <h2 class="pane-title">{title}</h2>
          {email !== null && email !== '' && (
            <a class="pane-email" href={`mailto:${email}`}>
              {email}
            </a>
          )}
        </div>
        {inbox !== null && (
          <ConversationActions inbox={inbox} conversationId={conversationId} summary={summary} title={title} onDone={(text) => onDone(conversationId, text)} />
        )}
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
