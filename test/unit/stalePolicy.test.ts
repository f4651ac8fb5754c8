/**
 * A page whose own Content-Security-Policy refuses a room socket reloads, to get a policy naming every live process
 * (client/src/stalePolicy.ts); never in a loop, and never for other refusals. test/scale/lateProcess.test.ts shows it
 * in Chromium.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { reloadWhenPolicyIsStale } from '../../client/src/stalePolicy.ts';

/** A window with a document to dispatch violations on, counting reloads, at a time the test sets. */
function fakePage() {
  const document = new EventTarget();
  const page = { reloads: 0, now: 1_000_000 };
  reloadWhenPolicyIsStale({ document, location: { reload: () => void page.reloads++ } }, memoryStore(), () => page.now);
  const violate = (effectiveDirective: string, blockedURI: string) =>
    document.dispatchEvent(Object.assign(new Event('securitypolicyviolation'), { effectiveDirective, blockedURI }));
  return { page, violate };
}

describe('reloading a page whose policy predates a process', () => {
  it('reloads when a WebSocket is refused by connect-src, at most once a minute', () => {
    const { page, violate } = fakePage();
    violate('connect-src', 'ws://10.0.0.7:8080/abc/def');
    expect(page.reloads).toBe(1);
    page.now += 59_000;
    violate('connect-src', 'wss://10.0.0.7:8080');
    expect(page.reloads, 'a second refusal within the minute: no reload loop').toBe(1);
    page.now += 1000;
    violate('connect-src', 'wss://10.0.0.7:8080');
    expect(page.reloads).toBe(2);
  });

  it('does not reload for refusals a fresh page would not fix: other directives, other schemes', () => {
    const { page, violate } = fakePage();
    violate('img-src', 'ws://10.0.0.7:8080');
    violate('connect-src', 'https://tracker.example');
    violate('script-src-elem', 'inline');
    expect(page.reloads).toBe(0);
  });
});
