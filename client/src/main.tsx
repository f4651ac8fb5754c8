/** Entry point of the browser app: mounts <App> into the shell's #app element. */
import { render } from 'preact';
import { App } from './views/App.tsx';
import { BrowserRouter } from './router.ts';
import { sessionStore } from './sdk/browserStore.ts';
import { reloadWhenPolicyIsStale } from './stalePolicy.ts';
import { openDocId } from './views/docLocation.ts';
import { registerAppWorker } from './sdk/appWorker.ts';
import './styles.css';
import './docs.css';

// Before anything connects: a room on a process this page's policy does not name needs a fresh page.
reloadWhenPolicyIsStale(window, sessionStore);
const root = document.getElementById('app');
if (root === null) throw new Error('The page has no #app element.');
render(<App router={new BrowserRouter(window)} />, root);
// A document in the address (a reload, a shared link): fetch the editor while the page connects, not after.
if (openDocId(location.hash) !== null) void import('./docs/DocEditor.tsx');
// The installable app's worker (offline shell, web push), once the page has loaded: it never delays the first paint.
// Not in the live-help chat on a company's site (`?embed=`): that frame lives by the site's rules, not the app's.
if ('serviceWorker' in navigator && !new URLSearchParams(location.search).has('embed')) {
  addEventListener('load', () => registerAppWorker().catch((error: unknown) => console.warn('Knock could not install its service worker:', error)));
}
