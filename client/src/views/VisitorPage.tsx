/**
 * What anyone sees at someone's URL: their card and live presence, and a conversation with them. Before the first
 * message there is no conversation, only presence; the first Send knocks (creating the conversation), then the
 * page switches to the conversation and sends the message through it.
 *
 * Opened from a resume link (`/<handle>/c/<token>`), the page shows that conversation and makes it the one this
 * browser holds (a POST: the profile's GET never does). If the browser already holds another conversation with this
 * owner, the page first asks which one to continue (ResumeChoice).
 *
 * When the owner is away the page invites the visitor to leave a message, with files and (optionally) an email
 * address to be answered at, and once it is stored says so, with the link to come back. Files attached before the
 * first message wait for the knock, which gives them a conversation to be uploaded into; the message goes when they
 * are up (Composer).
 *
 * In a company widget's chat frame (`embed`, sdk/embed.ts) the page is compact (no top bar: the widget's panel is the
 * frame), keeps the conversation by its token for the site's next page, sends the page the chat began on with the
 * knock, and tells the widget which conversation it is.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useSignal, type Signal } from '@preact/signals';
import { emailSchema, type ProfileAnswer, type VisitorConversation } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { browserStore } from '../sdk/browserStore.ts';
import type { EmbeddedChat } from '../sdk/embed.ts';
import { ConversationSession } from '../sdk/conversationSession.ts';
import type { MessageView } from '../sdk/types.ts';
import { VisitorPresence } from '../sdk/userSession.ts';
import { errorText } from '../errorText.ts';
import type { Attachments } from '../sdk/attachments.ts';
import { useAttachments, useOpenSession, useSnapshot } from '../useSession.ts';
import { Composer } from './Composer.tsx';
import { ConversationView } from './ConversationView.tsx';
import { FileDropArea } from './FileDropArea.tsx';
import { Link } from './Link.tsx';
import { MessageList } from './MessageList.tsx';
import { OwnerLogin } from './OwnerLogin.tsx';
import { ProfileHeader } from './ProfileHeader.tsx';
import { ResumeChoice } from './ResumeChoice.tsx';
import { ResumeLink } from './ResumeLink.tsx';
import { EmailTranscript } from './EmailTranscript.tsx';
import { useRouter } from '../router.ts';
import { TypingIndicator } from './TypingIndicator.tsx';
import { EmailField, NameField } from './VisitorFields.tsx';

interface ConversationRef {
  conversationId: string;
  token: string;
  resumePath: string;
}

type Stage =
  | { kind: 'presence' }
  /** A resume link to another conversation than the one this browser holds: the person chooses. */
  | { kind: 'choice'; own: VisitorConversation; linked: VisitorConversation }
  /** `initialBodies`: the messages typed before the conversation existed (during its knock), sent in order once it opens. */
  | { kind: 'conversation'; conversation: ConversationRef; initialBodies: string[] };

function refOf(c: VisitorConversation): ConversationRef {
  return { conversationId: c.id, token: c.token, resumePath: c.resumePath };
}

function firstStage({ conversation: own, linked }: ProfileAnswer, embedded: boolean): Stage {
  // Embedded, `linked` is the conversation the frame keeps for this site: no other to choose from.
  if (!embedded && linked !== null && own !== null && linked.id !== own.id) return { kind: 'choice', own, linked };
  const shown = linked ?? own;
  return shown === null ? { kind: 'presence' } : { kind: 'conversation', conversation: refOf(shown), initialBodies: [] };
}

/** State the two stages share, so switching from one to the other loses nothing. */
interface SharedState {
  profile: ProfileAnswer;
  draft: Signal<string>;
  visitorName: Signal<string>;
  /** Where the visitor may be answered by email: given with the knock, when the owner is away. */
  email: Signal<string>;
  /** The files of the message being written; uploaded once there is a conversation. */
  attachments: Attachments;
  /** The owner's presence as last seen by either stage; shown while the next session connects. */
  knownOnline: Signal<boolean>;
  /** The widget's chat frame this page is, if it is one. */
  embed: EmbeddedChat | null;
}

export function VisitorPage({
  profile,
  linkOpened,
  onLoggedIn,
  embed = null,
}: {
  profile: ProfileAnswer;
  /** The page was opened from a resume link (whether or not it is valid). */
  linkOpened: boolean;
  onLoggedIn: () => Promise<void>;
  embed?: EmbeddedChat | null;
}) {
  const router = useRouter();
  const stage = useSignal<Stage>(firstStage(profile, embed !== null));
  const shown = profile.linked ?? profile.conversation;
  const shared: SharedState = {
    profile,
    draft: useSignal(''),
    visitorName: useSignal(shown?.visitorName ?? ''),
    email: useSignal(''),
    attachments: useAttachments(profile.uploads, null),
    knownOnline: useSignal(profile.online),
    embed,
  };
  const adoptError = useSignal<string | null>(null);

  const adopt = async (linked: VisitorConversation): Promise<void> => {
    await api.resume(profile.handle, linked.token);
    shared.visitorName.value = linked.visitorName;
    stage.value = { kind: 'conversation', conversation: refOf(linked), initialBodies: [] };
  };
  useEffect(() => {
    // A link opened in a browser holding no conversation with this owner: nothing is replaced, so it becomes this
    // browser's conversation at once (a reload of /<handle> continues it).
    const { linked, conversation } = profile;
    if (embed !== null) {
      // No cookie to move: the frame keeps the token itself (a cookie it got same-site is kept as a token too).
      const held = linked ?? conversation;
      if (held !== null) embed.keep(held.token);
      return;
    }
    if (linked === null || conversation !== null) return;
    adopt(linked).catch((err: unknown) => (adoptError.value = `This browser could not keep the conversation: ${errorText(err)}`));
  }, []);

  useEffect(() => (embed === null ? undefined : closeOnEscape(embed)), [embed]);

  const current = stage.value;
  return (
    <div class={embed === null ? 'visitor-page' : 'visitor-page visitor-page--embed'}>
      {embed === null && (
        <div class="topbar">
          <Link href="/" class="brand">
            <span class="brand-name">Knock</span>
          </Link>
          <OwnerLogin handle={profile.handle} company={profile.company != null} onLoggedIn={onLoggedIn} />
        </div>
      )}
      <main class="chat-card">
        {linkOpened && profile.linked === null && (
          <p role="status" class="banner">
            The conversation link you opened is not valid (any more).
          </p>
        )}
        {adoptError.value !== null && (
          <p role="alert" class="error error--inline">
            {adoptError.value}
          </p>
        )}
        {current.kind === 'choice' ? (
          <>
            <ProfileHeader name={profile.displayName} handle={profile.handle} online={shared.knownOnline.value} />
            <ResumeChoice
              ownerName={profile.displayName}
              own={current.own}
              linked={current.linked}
              onContinueLinked={() => adopt(current.linked)}
              onKeepOwn={() => router.navigate(`/${profile.handle}`)}
            />
          </>
        ) : current.kind === 'presence' ? (
          <PresenceStage
            shared={shared}
            onKnocked={(conversation, initialBodies) => (stage.value = { kind: 'conversation', conversation, initialBodies })}
          />
        ) : (
          <ConversationStage
            key={current.conversation.conversationId}
            shared={shared}
            conversation={current.conversation}
            initialBodies={current.initialBodies}
            onInitialSent={() => (stage.value = { ...current, initialBodies: [] })}
          />
        )}
      </main>
    </div>
  );
}

function PresenceStage({
  shared,
  onKnocked,
}: {
  shared: SharedState;
  onKnocked: (conversation: ConversationRef, initialBodies: string[]) => void;
}) {
  const { profile, draft, visitorName, email, attachments, knownOnline, embed } = shared;
  const presence = useOpenSession(() => VisitorPresence.open({ endpoint: location.origin, handle: profile.handle }));
  const snapshot = useSnapshot(presence).value;
  const live = snapshot !== null && snapshot.connection === 'live';
  useEffect(() => {
    if (snapshot !== null && live) knownOnline.value = snapshot.online;
  }, [snapshot, live, knownOnline]);
  const online = snapshot !== null && live ? snapshot.online : knownOnline.value;
  const ownerName = snapshot?.ownerName || profile.displayName;

  /**
   * While the knock is under way: the messages typed so far (the first, and any sent before the conversation opened),
   * shown as sending, then sent in order by the conversation that opens. With files, a message stays in the composer.
   */
  const knocking = useSignal<Array<{ body: string; at: number }> | null>(null);
  const knockError = useSignal<string | null>(null);

  /** Starts the conversation; `body` is the first message, or null when files go with it (the composer sends it). */
  const knock = async (body: string | null) => {
    // A message sent while the knock is under way waits for its answer with the first one, in order: the composer
    // stays usable (a visitor who types fast must not lose the second message to a disabled Send).
    if (knocking.value !== null) {
      if (body !== null) knocking.value = [...knocking.value, { body, at: Date.now() }];
      return;
    }
    const typedEmail = email.value.trim();
    const checkedEmail = typedEmail === '' ? null : emailSchema.safeParse(typedEmail);
    if (checkedEmail !== null && !checkedEmail.success) {
      knockError.value = checkedEmail.error.issues[0]?.message ?? 'This does not look like an email address.';
      if (body !== null && draft.value === '') draft.value = body;
      attachments.cancelSend();
      return;
    }
    knocking.value = body === null ? [] : [{ body, at: Date.now() }];
    knockError.value = null;
    const name = visitorName.value.trim();
    try {
      const answer = await api.knock(profile.handle, name === '' ? undefined : name, checkedEmail?.data, embed?.startedOn);
      embed?.keep(answer.token);
      onKnocked(answer, (knocking.value ?? []).map((m) => m.body));
    } catch (err) {
      knockError.value = errorText(err);
      const typed = (knocking.value ?? []).map((m) => m.body);
      knocking.value = null;
      attachments.cancelSend();
      // Give the text back so nothing typed is lost.
      if (typed.length > 0 && draft.value === '') draft.value = typed.join('\n\n');
    }
  };

  // Send with files: they need a conversation to be uploaded into, so knock first; the message and its files stay in
  // the composer of the conversation that opens, which sends them once uploaded.
  const files = useSnapshot(attachments).value;
  const filesWaitForKnock = files !== null && files.sendRequested && !files.hasTarget;
  useEffect(() => {
    if (filesWaitForKnock && knocking.value === null) void knock(null);
  }, [filesWaitForKnock]);

  const messages: MessageView[] = (knocking.value ?? []).map((pending, i) => ({
    key: `knock-${i}`,
    seq: null,
    event: { kind: 'text' },
    body: pending.body,
    at: pending.at,
    senderRole: 'visitor',
    senderName: name(visitorName.value),
    mine: true,
    status: 'pending',
  }));

  return (
    <>
      <ProfileHeader name={ownerName} handle={profile.handle} online={online} />
      <FileDropArea attachments={attachments}>
        <MessageList
          messages={messages}
          hasOlder={false}
          loadingOlder={false}
          onLoadOlder={() => Promise.resolve()}
          emptyHint={<EmptyHint ownerName={ownerName} online={online} />}
        />
        <TypingIndicator names={[]} />
        {knockError.value !== null && (
          <p role="alert" class="error error--inline">
            {knockError.value}
          </p>
        )}
        <Composer draft={draft} attachments={attachments} onSend={(body) => void knock(body)} onTyping={() => {}}>
          <div class="visitor-fields">
            <NameField name={visitorName} />
            {!online && <EmailField email={email} ownerName={ownerName} />}
          </div>
        </Composer>
      </FileDropArea>
    </>
  );
}

function ConversationStage({
  shared,
  conversation,
  initialBodies,
  onInitialSent,
}: {
  shared: SharedState;
  conversation: ConversationRef;
  initialBodies: string[];
  onInitialSent: () => void;
}) {
  const { profile, draft, visitorName, email, attachments, knownOnline, embed } = shared;
  useEffect(
    () => embed?.post({ type: 'chat.conversation', conversationId: conversation.conversationId, token: conversation.token }),
    [embed, conversation.conversationId, conversation.token],
  );
  // Files attached before the knock, or now: they go into this conversation, with the visitor's token.
  useEffect(() => {
    attachments.setTarget({ conversationId: conversation.conversationId, token: conversation.token });
    return () => attachments.setTarget(null);
  }, [attachments, conversation.conversationId, conversation.token]);
  const session = useOpenSession(() => {
    const opened = ConversationSession.open({
      endpoint: location.origin,
      conversationId: conversation.conversationId,
      token: conversation.token,
      store: browserStore,
    });
    if (initialBodies.length > 0) {
      for (const body of initialBodies) opened.send(body);
      onInitialSent();
    }
    return opened;
  });
  const snapshot = useSnapshot(session).value;
  const live = snapshot !== null && snapshot.connection === 'live';
  useEffect(() => {
    if (snapshot !== null && live) knownOnline.value = snapshot.ownerOnline;
  }, [snapshot, live, knownOnline]);
  const online = snapshot !== null && live ? snapshot.ownerOnline : knownOnline.value;
  const ownerName = snapshot?.ownerName || profile.displayName;

  // The name the server knows; a rename goes out only when the field differs from it.
  const knownName = useRef(visitorName.value.trim());
  const renameIfChanged = () => {
    const wanted = visitorName.value.trim();
    if (session === null || wanted === '' || wanted === knownName.current) return;
    knownName.current = wanted;
    session.rename(wanted);
  };

  return (
    <>
      <ProfileHeader name={ownerName} handle={profile.handle} online={online} />
      {session !== null && snapshot !== null ? (
        <ConversationView
          session={session}
          snapshot={snapshot}
          draft={draft}
          attachments={attachments}
          peerName={ownerName}
          emptyHint={<EmptyHint ownerName={ownerName} online={online} />}
          listFooter={
            <>
              {!online && snapshot.messages.some((m) => m.mine && m.seq !== null) && (
                <MessageLeft ownerName={ownerName} email={email.value.trim()} />
              )}
              <ResumeLink resumePath={conversation.resumePath} newTab={embed !== null} />
              <EmailTranscript conversationId={conversation.conversationId} token={conversation.token} email={email.value.trim()} />
            </>
          }
          composerExtras={<NameField name={visitorName} onCommit={renameIfChanged} />}
          beforeSend={renameIfChanged}
        />
      ) : (
        <div class="message-scroller">
          <p class="muted centered">Connecting…</p>
        </div>
      )}
    </>
  );
}

function EmptyHint({ ownerName, online }: { ownerName: string; online: boolean }) {
  return online ? (
    <p>Say hello: {ownerName} is here right now and will see your message at once.</p>
  ) : (
    <p>{ownerName} is away: leave a message, with files if you like. It will be waiting for them.</p>
  );
}

/** Said once the visitor's message is stored while the owner is away, above the link to come back. */
function MessageLeft({ ownerName, email }: { ownerName: string; email: string }) {
  return (
    <p class="message-left" role="status">
      Your message was left for {ownerName}. They will answer here{email === '' ? '' : ` or at ${email}`}; keep the link below
      to come back to this conversation.
    </p>
  );
}

/**
 * Escape in the chat frame closes the widget's panel (focus is in the frame, so the widget cannot hear the key),
 * unless something in the page used the key (a dialog, a menu) or one of the page's dialogs is open.
 */
function closeOnEscape(embed: EmbeddedChat): () => void {
  const onKey = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('dialog[open], [role="dialog"], [role="alertdialog"]')) return;
    embed.post({ type: 'chat.close' });
  };
  document.addEventListener('keydown', onKey);
  return () => document.removeEventListener('keydown', onKey);
}

function name(typed: string): string {
  const trimmed = typed.trim();
  return trimmed === '' ? 'You' : trimmed;
}
