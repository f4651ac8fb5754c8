/**
 * Routing in the operators' console (issue 19): the "Queue" list (the company's chats waiting for an operator, the
 * longest waiting first, each with "Take"), and, in a company chat's pane, who has it ("Assigned to Olga" or
 * "Waiting in the queue") with "Take", "End chat" and "Transfer to" another operator. Both draw the SiteSession the
 * console's VisitorsPanel holds open (it shows the Queue under the Visitors); the room routes, this only shows and asks.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { ChatAssignmentRecord, OperatorRecord } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import type { SiteSession, SiteSnapshot } from '../sdk/siteSession.ts';
import { elapsedTime } from '../timeFormat.ts';
import { useSnapshot } from '../useSession.ts';

export interface QueueListProps {
  /** Null until the session is open. */
  snapshot: SiteSnapshot | null;
  now: number;
  onTake: (conversationId: string) => void;
}

/** The chats waiting; "Take" gives one to this operator. */
export function QueueList({ snapshot, now, onTake }: QueueListProps) {
  const headingId = useId();
  const waiting = (snapshot?.chats ?? []).filter((chat) => chat.state === 'queued');
  const live = snapshot?.connection === 'live';
  return (
    <section class="visitors" aria-labelledby={headingId}>
      <h2 id={headingId} class="console-list-title">
        Queue
      </h2>
      {waiting.length === 0 && live && <p class="muted padded">Nobody is waiting.</p>}
      <div class="padded">
        <ul class="devices" aria-label="Queue">
          {waiting.map((chat) => (
            <QueueItem key={chat.conversationId} chat={chat} now={now} canTake={live} onTake={onTake} />
          ))}
        </ul>
      </div>
    </section>
  );
}

function QueueItem({ chat, now, canTake, onTake }: { chat: ChatAssignmentRecord; now: number; canTake: boolean; onTake: (id: string) => void }) {
  const nameId = useId();
  const name = chat.visitorName.trim() === '' ? 'Visitor' : chat.visitorName;
  const page = chat.startedOn === null ? null : chat.startedOn.title.trim() === '' ? chat.startedOn.url : chat.startedOn.title;
  return (
    <li class="device">
      <span class="device-text">
        <span class="device-name" id={nameId}>
          {name}
        </span>
        <span class="device-meta">
          Waiting {elapsedTime(chat.queuedAt, now)}
          {page !== null && ` · started on ${page}`}
        </span>
      </span>
      <button type="button" class="button button--small" disabled={!canTake} aria-describedby={nameId} onClick={() => onTake(chat.conversationId)}>
        Take
      </button>
    </li>
  );
}

export interface ChatControlsProps {
  session: SiteSession;
  conversationId: string;
  /** The operator using the console (their own chat needs no "Take"). */
  viewer: string | undefined;
}

/** In a company chat's pane: who has it, and Take / End chat / Transfer. Nothing for a conversation not routed (email, ended). */
export function ChatControls({ session, conversationId, viewer }: ChatControlsProps) {
  const snapshot = useSnapshot(session).value;
  const operators = useOperators();
  const chat = snapshot?.chats.find((c) => c.conversationId === conversationId) ?? null;
  if (chat === null) return null;
  const others = operators.filter((o) => o.handle !== (chat.operator?.handle ?? null));
  return <ChatControlsView chat={chat} others={others} viewer={viewer} session={session} />;
}

function ChatControlsView({ chat, others, viewer, session }: { chat: ChatAssignmentRecord; others: OperatorRecord[]; viewer: string | undefined; session: SiteSession }) {
  const selectId = useId();
  const [to, setTo] = useState('');
  const target = others.some((o) => o.handle === to) ? to : (others[0]?.handle ?? '');
  const mine = chat.operator?.handle === viewer;
  return (
    <div class="pane-actions">
      <p class="pane-subject">{chat.operator === null ? 'Waiting in the queue' : `Assigned to ${mine ? 'you' : chat.operator.displayName}`}</p>
      {chat.startedOn !== null && (
        <p class="pane-subject">
          Started on{' '}
          {/* An http(s) address of one of the company's sites (the knock keeps no other): opened apart from the console. */}
          <a href={chat.startedOn.url} target="_blank" rel="noopener noreferrer">
            {chat.startedOn.title.trim() === '' ? chat.startedOn.url : chat.startedOn.title}
          </a>
        </p>
      )}
      {!mine && (
        <button type="button" class="button button--small" onClick={() => session.take(chat.conversationId)}>
          Take
        </button>
      )}
      <button type="button" class="button button--small" onClick={() => session.end(chat.conversationId)}>
        End chat
      </button>
      {others.length > 0 && (
        <span>
          <label for={selectId}>Transfer to</label>
          <select id={selectId} value={target} onChange={(e) => setTo(e.currentTarget.value)}>
            {others.map((o) => (
              <option key={o.handle} value={o.handle}>
                {o.displayName}
              </option>
            ))}
          </select>
          <button type="button" class="button button--small" onClick={() => target !== '' && session.transfer(chat.conversationId, target)}>
            Transfer
          </button>
        </span>
      )}
    </div>
  );
}

/** The company's operators (for "Transfer to"), read once; empty until read or if they could not be. */
function useOperators(): OperatorRecord[] {
  const [operators, setOperators] = useState<OperatorRecord[]>([]);
  useEffect(() => {
    let current = true;
    api.company().then(
      (answer) => current && setOperators(answer.operators),
      (err: unknown) => console.error('Could not read the company\u2019s operators:', err),
    );
    return () => {
      current = false;
    };
  }, []);
  return operators;
}
