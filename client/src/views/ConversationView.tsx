/**
 * A conversation, the same for the visitor and the owner: messages, typing, errors, the composer and its files (a
 * drop anywhere on the conversation attaches them). Marks what arrives as read while it is on screen.
 */
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Signal } from '@preact/signals';
import type { Attachments } from '../sdk/attachments.ts';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import type { ConversationSnapshot } from '../sdk/types.ts';
import { CallPanel, type PendingAnswer } from './CallPanel.tsx';
import { Composer, type DraftExpander } from './Composer.tsx';
import { DismissableError } from './DismissableError.tsx';
import { DocPanel } from './DocPanel.tsx';
import { DocumentsBar } from './DocumentsBar.tsx';
import { FileDropArea } from './FileDropArea.tsx';
import { GamePanel } from './GamePanel.tsx';
import { MessageList } from './MessageList.tsx';
import { TypingIndicator } from './TypingIndicator.tsx';

export interface ConversationViewProps {
  session: ConversationSession;
  snapshot: ConversationSnapshot;
  draft: Signal<string>;
  /** The files of the message being written, uploaded into this conversation. */
  attachments: Attachments;
  emptyHint?: ComponentChildren;
  /** Below the last message (the visitor's resume link). */
  listFooter?: ComponentChildren;
  /** Above the message box (the visitor's name). */
  composerExtras?: ComponentChildren;
  /** Called before each send (the visitor page renames first when the name changed). */
  beforeSend?: () => void;
  /** The other side's name, for the call buttons. */
  peerName: string;
  /** An email conversation (the owner's): what the owner writes is mailed, and their messages say how that stands. */
  mailed?: boolean;
  /** The owner's answer to a call, chosen in the console's ring before this conversation was open. */
  pendingAnswer?: PendingAnswer | null;
  onAnswered?: () => void;
  /** A company console's canned responses for the composer. */
  expander?: DraftExpander | null;
}

export function ConversationView(props: ConversationViewProps) {
  const { session, snapshot, draft } = props;
  useMarkRead(session, snapshot);
  return (
    <FileDropArea attachments={props.attachments}>
      <CallPanel session={session} live={snapshot.connection === 'live'} peerName={props.peerName} pendingAnswer={props.pendingAnswer ?? null} onAnswered={props.onAnswered} />
      <div class="banner-slot" aria-live="polite">
        {snapshot.connection === 'reconnecting' && <p class="banner">Connection lost. Reconnecting…</p>}
      </div>
      <GamePanel session={session} snapshot={snapshot} />
      <MessageList
        messages={snapshot.messages}
        hasOlder={snapshot.hasOlder}
        loadingOlder={snapshot.loadingOlder}
        onLoadOlder={() => session.loadOlder()}
        emptyHint={props.emptyHint}
        footer={props.listFooter}
        conversationId={snapshot.conversationId}
        mailed={props.mailed ?? false}
      />
      <TypingIndicator names={snapshot.typing} />
      {snapshot.lastError !== null && <DismissableError message={snapshot.lastError.message} onDismiss={() => session.clearError()} />}
      <DocumentsBar session={session} live={snapshot.connection === 'live'} />
      <DocPanel session={session} messages={snapshot.messages} />
      <Composer
        draft={draft}
        attachments={props.attachments}
        onSend={(body, files) => {
          // An error is about something done before; a new message starts afresh.
          if (snapshot.lastError !== null) session.clearError();
          props.beforeSend?.();
          session.send(body, files);
        }}
        onTyping={(active) => session.setTyping(active)}
        expander={props.expander}
      >
        {props.composerExtras}
      </Composer>
    </FileDropArea>
  );
}

/**
 * Sends a read receipt when a message from someone else arrives while the page is visible, and when the page becomes
 * visible again with unread messages. Visibility, not focus: a person reading in a window beside another one has
 * read the message.
 */
function useMarkRead(session: ConversationSession, snapshot: ConversationSnapshot): void {
  const latestTheirs = latestSeqFromOthers(snapshot);
  const live = snapshot.connection === 'live';
  useEffect(() => {
    if (latestTheirs === null || !live) return undefined;
    // Once per (newest seq, connection): after a reconnect the receipt goes again, in case it was lost.
    let sent = false;
    const mark = () => {
      if (sent || document.visibilityState !== 'visible') return;
      sent = true;
      session.markRead();
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    window.addEventListener('focus', mark);
    return () => {
      document.removeEventListener('visibilitychange', mark);
      window.removeEventListener('focus', mark);
    };
  }, [session, latestTheirs, live]);
}

function latestSeqFromOthers(snapshot: ConversationSnapshot): number | null {
  for (let i = snapshot.messages.length - 1; i >= 0; i--) {
    const m = snapshot.messages[i];
    if (m !== undefined && !m.mine && m.seq !== null) return m.seq;
  }
  return null;
}
