/**
 * The operators' "Visitors" list (issue 19): who is on the company's sites now, live: the page each is on (its title,
 * or its address when it has none), for how long, how many pages they have seen, whether they came before, whether
 * they are chatting, and the invitation's state, with "Invite to chat" (which pops "Can we help?" on their page).
 * `VisitorsPanel` opens the company's SiteRoom for as long as it is mounted; `VisitorsList` only draws a snapshot
 * (browser tests draw it without a server).
 */
import type { VNode } from 'preact';
import { useEffect, useId } from 'preact/hooks';
import type { SiteVisitorRecord } from '../../../engine/protocol.ts';
import { SiteSession, type SiteSnapshot } from '../sdk/siteSession.ts';
import { elapsedTime } from '../timeFormat.ts';
import { useNow, useOpenSession, useSnapshot } from '../useSession.ts';
import { DismissableError } from './DismissableError.tsx';
import { ChatControls, QueueList } from './QueuePanel.tsx';

/** Draws a company chat's routing controls in its pane (nothing for a conversation that is not routed). */
export type ChatRouting = (conversationId: string) => VNode;

/**
 * The company's live visitors and, under them, the Queue (QueuePanel.tsx; taking a chat opens it with `onOpen`), for
 * its operators' console. `handle` is the company's, `viewer` the operator's. `onRouting` gets what draws a chat's
 * routing controls in the console's pane, on the same session (one socket per console), while it is open.
 */
export function VisitorsPanel(props: { handle: string; viewer?: string; onRouting?: (set: () => ChatRouting | null) => void; onOpen?: (conversationId: string) => void }) {
  const { handle, viewer, onRouting, onOpen } = props;
  const session = useOpenSession(() => SiteSession.open({ endpoint: location.origin, handle }));
  useEffect(() => {
    if (session === null) return;
    // A function is set through an updater (a state setter would call it).
    onRouting?.(() => (conversationId) => <ChatControls key={conversationId} session={session} conversationId={conversationId} viewer={viewer} />);
    return () => onRouting?.(() => null);
  }, [session]);
  const snapshot = useSnapshot(session).value;
  // Time on page ticks by the second while the list is on screen.
  const now = useNow(1000);
  return (
    <>
      <VisitorsList
        snapshot={snapshot}
        now={now}
        onInvite={(visitorId) => session?.invite(visitorId)}
        onDismissError={() => session?.clearError()}
      />
      <QueueList
        snapshot={snapshot}
        now={now}
        onTake={(conversationId) => {
          if (session?.take(conversationId) === true) onOpen?.(conversationId);
        }}
      />
    </>
  );
}

export interface VisitorsListProps {
  /** Null until the session is open. */
  snapshot: SiteSnapshot | null;
  now: number;
  onInvite: (visitorId: string) => void;
  onDismissError: () => void;
}

export function VisitorsList({ snapshot, now, onInvite, onDismissError }: VisitorsListProps) {
  const headingId = useId();
  const visitors = snapshot === null ? [] : [...snapshot.visitors.values()];
  const live = snapshot?.connection === 'live';
  return (
    <section class="visitors" aria-labelledby={headingId}>
      <h2 id={headingId} class="console-list-title">
        Visitors
      </h2>
      <ConnectionNote snapshot={snapshot} />
      {snapshot?.lastError != null && <DismissableError message={snapshot.lastError.message} onDismiss={onDismissError} />}
      {visitors.length === 0 ? (
        live && <p class="muted padded">Nobody is on your sites right now. Visitors appear here as they arrive.</p>
      ) : (
        <div class="padded">
          <ul class="devices" aria-label="Visitors">
            {visitors.map((visitor) => (
              <VisitorItem key={visitor.visitorId} visitor={visitor} now={now} canInvite={live} onInvite={onInvite} />
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function ConnectionNote({ snapshot }: { snapshot: SiteSnapshot | null }) {
  if (snapshot?.ended != null) {
    return (
      <p role="alert" class="error error--inline">
        {snapshot.ended.message}
      </p>
    );
  }
  if (snapshot === null || snapshot.connection === 'connecting') return <p class="muted padded">Loading…</p>;
  if (snapshot.connection === 'reconnecting') {
    return (
      <p class="muted padded" aria-live="polite">
        Connection lost. Reconnecting…
      </p>
    );
  }
  return null;
}

const INVITATION_TEXT: Record<SiteVisitorRecord['invitation'], string | null> = {
  none: null,
  pending: 'Invited',
  accepted: 'Accepted',
  declined: 'Declined',
};

function VisitorItem(props: { visitor: SiteVisitorRecord; now: number; canInvite: boolean; onInvite: (visitorId: string) => void }) {
  const { visitor, now } = props;
  const titleId = useId();
  const { page } = visitor;
  const chatting = visitor.conversationId !== null;
  const invitation = INVITATION_TEXT[visitor.invitation];
  // Declined is for the whole visit; pending waits for the answer; a visitor chatting needs no invitation.
  const canInvite = props.canInvite && visitor.connected && !chatting && visitor.invitation !== 'declined' && visitor.invitation !== 'pending';
  const facts = [
    visitor.connected ? null : 'Moving between pages…',
    `${visitor.pagesSeen} ${visitor.pagesSeen === 1 ? 'page' : 'pages'} seen`,
    visitor.returning ? 'Returning' : 'New',
    chatting ? 'Chatting' : null,
    invitation,
  ].filter((fact): fact is string => fact !== null);
  return (
    <li class="device">
      <span class="device-text">
        <span class="device-name" id={titleId}>
          {page.title.trim() === '' ? page.url : page.title}
        </span>
        <a class="device-meta visitor-url" href={page.url} target="_blank" rel="noopener noreferrer">
          {page.url}
        </a>
        <span class="device-meta">
          {elapsedTime(visitor.pageSince, now)} on this page · {facts.join(' · ')}
        </span>
      </span>
      <button type="button" class="button button--small" disabled={!canInvite} aria-describedby={titleId} onClick={() => props.onInvite(visitor.visitorId)}>
        Invite to chat
      </button>
    </li>
  );
}
