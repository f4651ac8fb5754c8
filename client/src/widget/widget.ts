/**
 * `/_/widget.js`: the script a company's site embeds (issue 19), built on its own as a small IIFE (client/build.ts;
 * no framework, no zod, no Colyseus: under 30 KB gzipped is the rule, a few KB is what it is).
 *
 *   <script src="https://knock.example/_/widget.js" data-knock="acme" async></script>
 *
 * It runs almost nothing while the page loads: it reads its tag, defines `window.Knock`, and leaves the rest
 * (knockWidget.ts) for after the page's load. `window.Knock` is `{ consent(), open(), close() }`; a page that calls
 * it before this script arrived may queue the calls by name: `(window.Knock = window.Knock || []).push('consent')`.
 */
import { findWidgetScript, readWidgetConfig } from './widgetConfig.ts';
import { KnockWidget } from './knockWidget.ts';

interface KnockApi {
  consent(): void;
  open(): void;
  close(): void;
}

function boot(win: Window & { Knock?: unknown }): void {
  const script = findWidgetScript(win.document);
  const config = script === null ? null : readWidgetConfig(script, win.navigator);
  if (config === null) {
    console.warn('Knock widget: the script tag needs data-knock="<handle>" and an http(s) src.');
    return;
  }
  const widget = new KnockWidget(config, win);
  const api: KnockApi = {
    consent: () => widget.consent(),
    open: () => widget.openChat(),
    close: () => widget.closeChat(),
  };
  const queued = win.Knock;
  win.Knock = api;
  if (!config.consentRequired) widget.consent();
  if (Array.isArray(queued)) {
    for (const call of queued as unknown[]) if (call === 'consent' || call === 'open' || call === 'close') api[call]();
  }
}

boot(window);
