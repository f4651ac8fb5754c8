/**
 * Debian's Chromium and the flags every Knock browser run uses (RECIPES "Chromium"), without any test runner: the
 * e2e harness (browser.ts) and the call benchmark (bench/calls.ts) both launch it from here.
 */
import { existsSync } from 'node:fs';

/** Debian's Chromium; the binary under /usr/lib starts faster than the /usr/bin wrapper script. */
const EXECUTABLES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * For call tests (RECIPES "Chromium"): a fake camera and microphone that need no permission prompt, loopback ICE
 * candidates (everything here runs on 127.0.0.1). Autoplay rules stay as they are: sound plays because the person
 * clicked (Video call, Accept), as in real life.
 */
/**
 * Knock's ping interval for call tests. The default (800 ms, one missed pong closes the socket) is for presence; on a
 * test machine busy encoding and decoding video, pongs come late, the conversation's socket reconnects under a new
 * device id, and peer-to-peer media renegotiates, which is not what these tests look at (callsRejoin.test.ts does).
 */
export const CALL_TEST_PING_INTERVAL_MS = 5000;

/** How long one UI step of a call test may take (see useBrowser's `timeoutMs`). */
export const CALL_UI_TIMEOUT_MS = 15_000;

export const CALL_ARGS: readonly string[] = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

export function executablePath(): string {
  const found = EXECUTABLES.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(`Chromium is missing (${EXECUTABLES.join(' or ')}). Install it: apt-get install -y chromium`);
  }
  return found;
}
