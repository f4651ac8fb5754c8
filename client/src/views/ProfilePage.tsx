/**
 * /<handle> and /<handle>/c/<token>: the owner's console for the owner, the visitor page for everyone else. In a
 * company widget's chat frame (`/<handle>?embed=<site>`), always the visitor page, resuming the conversation this
 * browser keeps for the site (sdk/embed.ts).
 */
import { useCallback, useEffect, useMemo, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { ProfileAnswer } from '../../../engine/protocol.ts';
import { api, ApiError } from '../sdk/api.ts';
import { browserStore } from '../sdk/browserStore.ts';
import { EmbeddedChat } from '../sdk/embed.ts';
import { errorText } from '../errorText.ts';
import { Link } from './Link.tsx';
import { OwnerConsole } from './OwnerConsole.tsx';
import { VisitorPage } from './VisitorPage.tsx';

type ProfileState =
  | { kind: 'loading' }
  | { kind: 'ready'; profile: ProfileAnswer }
  | { kind: 'not_found' }
  | { kind: 'failed'; message: string };

export function ProfilePage({ handle, resumeToken }: { handle: string; resumeToken: string | undefined }) {
  const state = useSignal<ProfileState>({ kind: 'loading' });
  // Only the newest request may set the state: a slow answer must not overwrite a fresher one.
  const latestRequest = useRef(0);
  const embed = useMemo(() => EmbeddedChat.fromLocation(window, handle, browserStore), [handle]);

  const load = useCallback(async () => {
    const request = ++latestRequest.current;
    try {
      const kept = embed?.token ?? undefined;
      const profile = await api.profile(handle, resumeToken ?? kept);
      if (kept !== undefined && profile.linked === null) embed?.forget();
      if (request === latestRequest.current) state.value = { kind: 'ready', profile };
    } catch (err) {
      if (request !== latestRequest.current) return;
      if (err instanceof ApiError && (err.code === 'not_found' || err.status === 404)) {
        state.value = { kind: 'not_found' };
      } else {
        console.error(`Loading the profile of /${handle} failed:`, err);
        state.value = { kind: 'failed', message: errorText(err) };
      }
    }
  }, [handle, resumeToken, state, embed]);

  useEffect(() => {
    void load();
  }, [load]);

  const current = state.value;
  // Opened offline (the service worker's copy of the app, issue 20): load by itself once the network is back.
  useEffect(() => {
    if (current.kind !== 'failed') return undefined;
    const retry = (): void => void load();
    addEventListener('online', retry);
    return () => removeEventListener('online', retry);
  }, [current.kind, load]);
  useEffect(() => {
    if (current.kind === 'not_found') document.title = 'Nobody here — Knock';
    else if (current.kind === 'ready' && !current.profile.isOwner) document.title = `${current.profile.displayName} — Knock`;
  }, [current]);

  switch (current.kind) {
    case 'loading':
      return (
        <main class="page page--narrow" aria-busy="true">
          <p class="muted">Loading…</p>
        </main>
      );
    case 'not_found':
      // A phone URL (issue 20) is claimed in Settings by someone who has the phone, not signed up for.
      if (handle.startsWith('+')) {
        return (
          <main class="page page--narrow">
            <h1>There is nobody at /{handle}.</h1>
            <p>Nobody has claimed this phone number here.</p>
          </main>
        );
      }
      return (
        <main class="page page--narrow">
          <h1>There is nobody at /{handle}.</h1>
          <p>
            Want this address? <Link href={`/_/signup?handle=${encodeURIComponent(handle)}`}>Sign up</Link> and it is
            yours, if it is free.
          </p>
        </main>
      );
    case 'failed':
      return (
        <main class="page page--narrow">
          <p role="alert" class="error">
            {current.message}
          </p>
          <button type="button" class="button" onClick={() => void load()}>
            Try again
          </button>
        </main>
      );
    case 'ready':
      if (embed !== null) return <VisitorPage key="embedded" profile={current.profile} linkOpened={false} onLoggedIn={load} embed={embed} />;
      return current.profile.isOwner ? (
        <OwnerConsole key="owner" profile={current.profile} onLoggedOut={load} />
      ) : (
        <VisitorPage key="visitor" profile={current.profile} linkOpened={resumeToken !== undefined} onLoggedIn={load} />
      );
  }
}
