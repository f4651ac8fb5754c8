/**
 * What the owner sees at their own URL: their presence, their conversations (searched and filtered through the
 * Inbox, with the storage their files use) and the open one, with its actions; or, in its place, a "New email" being
 * written, or the Settings. On a phone (<= 640 px) the list and the pane take turns, with a Back button.
 *
 * The same console is a company's operators' console (issue 19) when one of them opens the company's URL: its calls
 * then act for the company (useCompanyMode), and a person's console links to the companies they work for.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { CloseCode, type InboxFilter, type ProfileAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { ownerStore } from '../sdk/browserStore.ts';
import { forgetOwnerTraces } from '../sdk/ownerTraces.ts';
import { Inbox } from '../sdk/inbox.ts';
import { OwnerSession } from '../sdk/userSession.ts';
import { errorText } from '../errorText.ts';
import { formatBytes } from '../sizeFormat.ts';
import { useNow, useOpenSession, useSnapshot } from '../useSession.ts';
import { ConversationList, focusConversation, focusFirstConversation } from './ConversationList.tsx';
import type { PendingAnswer } from './CallPanel.tsx';
import { CopyButton } from './CopyButton.tsx';
import { InboxControls } from './InboxControls.tsx';
import { Link } from './Link.tsx';
import { NewEmailForm } from './NewEmailForm.tsx';
import { OwnerConversationPane, type FirstMessage } from './OwnerConversationPane.tsx';
import { LazyCompanyView } from './LazyCompanyView.tsx';
import type { CompanyViewer } from './CompanySection.tsx';
import type { ChatRouting } from './VisitorsPanel.tsx';
import type { DraftExpander } from './Composer.tsx';

/** What the pane shows instead of a conversation. */
type Panel = 'newEmail' | 'settings';

export function OwnerConsole({ profile, onLoggedOut }: { profile: ProfileAnswer; onLoggedOut: () => Promise<void> }) {
  const company = useCompanyMode(profile);
  /** A company chat's routing controls (Assigned to…, End chat, Transfer), drawn by the company chunk's VisitorsPanel. */
  const [routing, setRouting] = useState<ChatRouting | null>(null);
  const session = useOpenSession(() => OwnerSession.open({ endpoint: location.origin, handle: profile.handle }));
  const snapshot = useSnapshot(session).value;
  // A forward's link (`/alice#c=<conversation id>`, engine/forwarding/forwarding.ts) opens its conversation.
  const selectedId = useSignal<string | null>(/^#c=([A-Za-z0-9_-]{1,64})$/.exec(location.hash)?.[1] ?? null);
  const panel = useSignal<Panel | null>(null);
  /** The first message of a "New email", to send as its conversation opens. */
  const firstMessage = useSignal<FirstMessage | null>(null);
  const newEmailButton = useRef<HTMLButtonElement>(null);
  const settingsButton = useRef<HTMLButtonElement>(null);
  /** An answer chosen in the console's ring, carried out by the conversation's pane once it rings there too. */
  const pendingAnswer = useSignal<(PendingAnswer & { conversationId: string }) | null>(null);
  const error = useSignal<string | null>(null);
  /** What the last action on a conversation did ("Archived the conversation with Bob."), said politely. */
  const notice = useSignal<string | null>(null);
  const now = useNow(30_000);
  const inbox = useInbox(session);
  const listed = useSnapshot(inbox).value;
  const listAside = useRef<HTMLElement>(null);
  const expander = useCannedExpander(company, panel.value);

  // Every conversation the session knows (archived ones too): the open one keeps its title whatever the list shows.
  const conversations = snapshot?.conversations ?? [];
  const online = snapshot?.online ?? false;
  // Suspicious mail is kept out of sight (the Suspicious filter): it does not call for attention in the tab's title.
  const unread = conversations.reduce((sum, c) => sum + (c.suspicious === true ? 0 : c.unread), 0);
  useEffect(() => {
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${profile.displayName} — Knock`;
  }, [unread, profile.displayName]);

  /**
   * Logged out, here or elsewhere (another tab, the password changed with the CLI): the replies not sent yet, the
   * copies of documents and the service worker's kept pages leave this browser (sdk/ownerTraces.ts), and the page
   * becomes the visitor page. Once more when the console is gone, in case a last acknowledgement rewrote the outbox
   * meanwhile.
   */
  const loggedOut = useRef(false);
  const forgetOwner = async () => {
    loggedOut.current = true;
    await forgetOwnerTraces();
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
  const open = (conversationId: string) => {
    panel.value = null;
    selectedId.value = conversationId;
  };
  const answer = (conversationId: string, callId: string, action: PendingAnswer['action']) => {
    pendingAnswer.value = { conversationId, callId, action };
    open(conversationId);
  };
  const showPanel = (shown: Panel) => {
    notice.value = null;
    selectedId.value = null;
    panel.value = shown;
  };
  /** Back from New email or Settings: to the button that opened it. */
  const closePanel = () => {
    const opener = panel.value === 'settings' ? settingsButton : newEmailButton;
    panel.value = null;
    requestAnimationFrame(() => opener.current?.focus());
  };
  return (
    <div class="console">
      <header class="console-bar">
        <Link href="/" class="brand">
          <span class="brand-name">Knock</span>
        </Link>
        <div class="console-me">
          <h1 class="console-name">{profile.displayName}</h1>
          <span class="profile-handle">
            /{profile.handle}
            {company !== null && ` · operators' console (you: ${profile.viewer?.displayName ?? company.handle})`}
          </span>
        </div>
        <p role="status" class={online ? 'presence presence--online' : 'presence'}>
          <span class="presence-dot" aria-hidden="true" />
          {company !== null ? `${profile.displayName} is` : 'You are'} {online ? 'online' : 'offline'}
        </p>
        <button ref={settingsButton} type="button" class="button button--quiet" onClick={() => showPanel('settings')}>
          <SettingsIcon />
          <span class="settings-label">Settings</span>
        </button>
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
      <div class={selectedId.value === null && panel.value === null ? 'console-body' : 'console-body console-body--open'}>
        <aside class="console-list" ref={listAside}>
          {company === null && (profile.companies?.length ?? 0) > 0 && <CompaniesNav companies={profile.companies ?? []} />}
          {company !== null && <LazyCompanyView view="VisitorsPanel" props={{ handle: profile.handle, viewer: company.handle, onRouting: setRouting, onOpen: open }} />}
          <div class="console-list-head">
            <h2 class="console-list-title">Conversations</h2>
            <button ref={newEmailButton} type="button" class="button button--small" onClick={() => showPanel('newEmail')}>
              New email
            </button>
          </div>
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
              open(id);
            }}
          />
          {listed?.quota != null && <Quota usedBytes={listed.quota.usedBytes} limitBytes={listed.quota.limitBytes} />}
        </aside>
        <section class="console-pane" aria-label={panel.value === 'newEmail' ? 'New email' : panel.value === 'settings' ? 'Settings' : 'Conversation'}>
          {panel.value === 'newEmail' ? (
            <NewEmailForm
              uploads={profile.uploads}
              onBack={closePanel}
              onCreated={(first) => {
                firstMessage.value = first;
                open(first.conversationId);
              }}
            />
          ) : panel.value === 'settings' ? (
            <LazyCompanyView view="SettingsView" props={{ onBack: closePanel, handle: profile.handle, company }} />
          ) : selectedId.value === null ? (
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
              first={firstMessage.value?.conversationId === selectedId.value ? firstMessage.value : null}
              onFirstSent={() => (firstMessage.value = null)}
              onBack={() => (selectedId.value = null)}
              onDone={(id, text) => {
                notice.value = text;
                closePane(id);
              }}
              pendingAnswer={pendingAnswer.value?.conversationId === selectedId.value ? pendingAnswer.value : null}
              onAnswered={() => (pendingAnswer.value = null)}
              routing={routing?.(selectedId.value)}
              expander={expander}
            />
          )}
        </section>
      </div>
    </div>
  );
}

/**
 * A company's console, opened by one of its operators: every API call acts for the company (ACTING_ACCOUNT_HEADER)
 * while it shows. Set during the first render, not in an effect: children's effects run before their parent's, and
 * their first calls must already name the company. Null on a person's own console.
 */
function useCompanyMode(profile: ProfileAnswer): CompanyViewer | null {
  const role = profile.company?.role ?? null;
  const viewerHandle = profile.viewer?.handle ?? null;
  const company = useMemo(() => {
    api.setAccount(role === null ? null : profile.handle);
    return role === null || viewerHandle === null ? null : { handle: viewerHandle, role };
  }, [role, profile.handle, viewerHandle]);
  useEffect(() => () => api.setAccount(null), []);
  return company;
}

/**
 * A company's canned responses for its console's composer, loaded with the company-only views; again whenever the
 * pane changes (closing Settings, where they are edited). Without them the composer works as anywhere else.
 */
function useCannedExpander(company: CompanyViewer | null, panel: Panel | null): DraftExpander | null {
  const [expander, setExpander] = useState<DraftExpander | null>(null);
  useEffect(() => {
    if (company === null) return undefined;
    let current = true;
    import('./companyViews.ts')
      .then((views) => views.loadCannedExpander())
      .then((loaded) => current && setExpander(loaded), (err: unknown) => console.warn('canned responses not loaded', err));
    return () => {
      current = false;
    };
  }, [company, panel]);
  return expander;
}

/** On a person's own console: the companies they work for, each a link to its operators' console. */
function CompaniesNav({ companies }: { companies: NonNullable<ProfileAnswer['companies']> }) {
  return (
    <nav class="console-companies" aria-label="Companies">
      <h2 class="console-list-title">Companies</h2>
      <ul>
        {companies.map((c) => (
          <li key={c.handle}>
            <Link href={`/${c.handle}`}>{c.displayName} — operator console</Link>
          </li>
        ))}
      </ul>
    </nav>
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

/** A gear (Feather icons, MIT), drawn in the text colour; on a phone it stands alone for "Settings" (styles.css). */
function SettingsIcon() {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <g fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
        <circle cx="12" cy="12" r="3" />
        <path d="M19.4 15a1.65 1.65 0 0 0 .33 1.82l.06.06a2 2 0 0 1 0 2.83 2 2 0 0 1-2.83 0l-.06-.06a1.65 1.65 0 0 0-1.82-.33 1.65 1.65 0 0 0-1 1.51V21a2 2 0 0 1-2 2 2 2 0 0 1-2-2v-.09A1.65 1.65 0 0 0 9 19.4a1.65 1.65 0 0 0-1.82.33l-.06.06a2 2 0 0 1-2.83 0 2 2 0 0 1 0-2.83l.06-.06a1.65 1.65 0 0 0 .33-1.82 1.65 1.65 0 0 0-1.51-1H3a2 2 0 0 1-2-2 2 2 0 0 1 2-2h.09A1.65 1.65 0 0 0 4.6 9a1.65 1.65 0 0 0-.33-1.82l-.06-.06a2 2 0 0 1 0-2.83 2 2 0 0 1 2.83 0l.06.06a1.65 1.65 0 0 0 1.82.33H9a1.65 1.65 0 0 0 1-1.51V3a2 2 0 0 1 2-2 2 2 0 0 1 2 2v.09a1.65 1.65 0 0 0 1 1.51 1.65 1.65 0 0 0 1.82-.33l.06-.06a2 2 0 0 1 2.83 0 2 2 0 0 1 0 2.83l-.06.06a1.65 1.65 0 0 0-.33 1.82V9a1.65 1.65 0 0 0 1.51 1H21a2 2 0 0 1 2 2 2 2 0 0 1-2 2h-.09a1.65 1.65 0 0 0-1.51 1z" />
      </g>
    </svg>
  );
}
