/**
 * A page holding only the operators' "Visitors" list (client/src/views/VisitorsPanel.tsx, `VisitorsList`) in the
 * console's list column, with the app's stylesheet: for browser tests of how it looks and reads, without a server.
 * The test bundles this file (testPages.ts), loads it into a blank page and calls `showVisitors`; invitations the
 * list asks for are recorded in `window.invited`.
 *
 * @example
 *   await page.evaluate((s) => window.showVisitors(s), { connection: 'live', visitors: [record], now });
 */
import { render } from 'preact';
import type { SiteVisitorRecord } from '../../engine/protocol.ts';
import type { SiteSnapshot } from '../../client/src/sdk/siteSession.ts';
import { VisitorsList } from '../../client/src/views/VisitorsPanel.tsx';

export interface VisitorsListState {
  connection: SiteSnapshot['connection'];
  visitors: SiteVisitorRecord[];
  now: number;
  error?: string;
}

declare global {
  interface Window {
    showVisitors(state: VisitorsListState): void;
    invited: string[];
  }
}

window.invited = [];
window.showVisitors = (state) => {
  const root = document.getElementById('app');
  if (root === null) throw new Error('The page has no #app element.');
  const snapshot: SiteSnapshot = {
    connection: state.connection,
    status: { name: 'Acme Ltd', online: true },
    visitors: new Map(state.visitors.map((v) => [v.visitorId, v])),
    chats: [],
    lastError: state.error === undefined ? null : { code: 'conflict', message: state.error },
    ended: null,
  };
  render(
    <main>
      <aside class="console-list">
        <VisitorsList snapshot={snapshot} now={state.now} onInvite={(id) => window.invited.push(id)} onDismissError={() => undefined} />
      </aside>
    </main>,
    root,
  );
};
