/**
 * Client-side routes. The server sends the same HTML shell for every page route; the app picks the view from
 * `location.pathname` and moves between pages with the History API.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { signal, type ReadonlySignal } from '@preact/signals';

export type Route =
  | { kind: 'landing' }
  | { kind: 'signup'; handle: string }
  /** An invitation to a company's team (issue 19): `/_/join/<token>`. */
  | { kind: 'join'; token: string }
  /** Password recovery (issue 22): `/_/reset?handle=<handle>` asks for a link; the link is `/_/reset#<token>`. */
  | { kind: 'reset'; handle: string }
  | { kind: 'profile'; handle: string; resumeToken: string | undefined }
  | { kind: 'unknown' };

/**
 * `home`: the page is at an owner's own domain (issue 21: the server names the owner in the shell, `homeOfPage`),
 * where `/` is their page and `/c/<token>` a resume link of theirs; every other path reads as on any host.
 */
export function parseRoute(pathname: string, search = '', home: string | null = null): Route {
  let segments: string[];
  try {
    segments = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'unknown' };
  }
  const [first, second, third, ...rest] = segments;
  if (home !== null && first === undefined) return { kind: 'profile', handle: home, resumeToken: undefined };
  if (home !== null && first === 'c' && second !== undefined && third === undefined) return { kind: 'profile', handle: home, resumeToken: second };
  if (first === undefined) return { kind: 'landing' };
  if (first === '_') {
    if (second === 'signup' && third === undefined) {
      return { kind: 'signup', handle: new URLSearchParams(search).get('handle') ?? '' };
    }
    if (second === 'join' && third !== undefined && rest.length === 0) return { kind: 'join', token: third };
    if (second === 'reset' && third === undefined) return { kind: 'reset', handle: new URLSearchParams(search).get('handle') ?? '' };
    return { kind: 'unknown' };
  }
  // Handles are lowercase; /Alice means /alice.
  const handle = first.toLowerCase();
  if (second === undefined) return { kind: 'profile', handle, resumeToken: undefined };
  if (second === 'c' && third !== undefined && rest.length === 0) return { kind: 'profile', handle, resumeToken: third };
  return { kind: 'unknown' };
}

/** The owner whose own domain this page is at (the shell's `<meta name="knock-home">`), or null. */
export function homeOfPage(doc: Document): string | null {
  return doc.querySelector('meta[name="knock-home"]')?.getAttribute('content') ?? null;
}

/** The current location as a signal, and navigation without reloading the page. */
export class BrowserRouter {
  readonly #location = signal({ pathname: '', search: '' });
  readonly #win: Window;
  readonly #onPopState = (): void => this.#sync();

  constructor(win: Window) {
    this.#win = win;
    this.#sync();
    win.addEventListener('popstate', this.#onPopState);
  }

  get location(): ReadonlySignal<{ pathname: string; search: string }> {
    return this.#location;
  }

  navigate(to: string): void {
    this.#win.history.pushState(null, '', to);
    this.#sync();
    this.#win.scrollTo(0, 0);
  }

  close(): void {
    this.#win.removeEventListener('popstate', this.#onPopState);
  }

  #sync(): void {
    const { pathname, search } = this.#win.location;
    this.#location.value = { pathname, search };
  }
}

export const RouterContext = createContext<BrowserRouter | null>(null);

export function useRouter(): BrowserRouter {
  const router = useContext(RouterContext);
  if (router === null) throw new Error('useRouter() outside <RouterContext.Provider>.');
  return router;
}
