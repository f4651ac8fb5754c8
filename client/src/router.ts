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
  | { kind: 'profile'; handle: string; resumeToken: string | undefined }
  | { kind: 'unknown' };

export function parseRoute(pathname: string, search = ''): Route {
  let segments: string[];
  try {
    segments = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'unknown' };
  }
  const [first, second, third, ...rest] = segments;
  if (first === undefined) return { kind: 'landing' };
  if (first === '_') {
    if (second === 'signup' && third === undefined) {
      return { kind: 'signup', handle: new URLSearchParams(search).get('handle') ?? '' };
    }
    if (second === 'join' && third !== undefined && rest.length === 0) return { kind: 'join', token: third };
    return { kind: 'unknown' };
  }
  // Handles are lowercase; /Alice means /alice.
  const handle = first.toLowerCase();
  if (second === undefined) return { kind: 'profile', handle, resumeToken: undefined };
  if (second === 'c' && third !== undefined && rest.length === 0) return { kind: 'profile', handle, resumeToken: third };
  return { kind: 'unknown' };
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
