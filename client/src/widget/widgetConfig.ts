/**
 * What the embedding site's tag asks for, read once from the tag itself:
 *
 *   <script src="https://knock.example/_/widget.js" data-knock="acme" async></script>
 *   <script src="https://knock.example/_/widget.js" data-knock="acme" data-consent="required" async></script>
 *   <script src="https://knock.example/_/widget.js" data-knock="acme" data-monitor async></script>
 *
 * Knock's origin is the script's own (the site names nothing else), so the frames and the postMessage checks follow
 * wherever the script was loaded from.
 */

/** A handle as Knock spells them (engine/protocol.ts HANDLE_PATTERN; not imported: the widget carries no zod). */
const HANDLE = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export interface WidgetConfig {
  /** Knock's origin, from the script's src (`https://knock.example`). */
  knockOrigin: string;
  /** The company's handle (`acme`). */
  handle: string;
  /** `data-consent="required"`: nothing at all happens until the page calls `Knock.consent()`. */
  consentRequired: boolean;
  /** `data-monitor`: page views are reported, no button, no chat, no invitation. */
  monitorOnly: boolean;
  /** False under Global Privacy Control or Do Not Track: the button works, nothing is monitored. */
  monitor: boolean;
}

/** The tag that loaded this script: `document.currentScript` while it runs, else the tag naming /_/widget.js. */
export function findWidgetScript(doc: Document): HTMLScriptElement | null {
  const current = doc.currentScript;
  if (current instanceof HTMLScriptElement && current.hasAttribute('data-knock')) return current;
  for (const script of Array.from(doc.querySelectorAll<HTMLScriptElement>('script[data-knock][src]'))) {
    if (/\/_\/widget\.js(?:[?#].*)?$/.test(script.src)) return script;
  }
  return null;
}

/** The tag's settings, or null when the tag is unusable (no handle, a src that is not http(s)). */
export function readWidgetConfig(script: HTMLScriptElement, nav: Navigator): WidgetConfig | null {
  const handle = (script.getAttribute('data-knock') ?? '').trim().toLowerCase();
  if (!HANDLE.test(handle)) return null;
  let knockOrigin: string;
  try {
    const src = new URL(script.src);
    if (src.protocol !== 'https:' && src.protocol !== 'http:') return null;
    knockOrigin = src.origin;
  } catch {
    return null;
  }
  const signals = nav as Navigator & { globalPrivacyControl?: boolean };
  const optedOut = signals.globalPrivacyControl === true || nav.doNotTrack === '1';
  return {
    knockOrigin,
    handle,
    consentRequired: script.getAttribute('data-consent') === 'required',
    monitorOnly: script.hasAttribute('data-monitor'),
    monitor: !optedOut,
  };
}
