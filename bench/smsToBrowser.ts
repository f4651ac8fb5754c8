/**
 * Issue 20: how long a text takes from the carrier to the owner's screen. A loopback SMSC (test/support/smsc.ts, the
 * `smpp` package's server) hands Knock a deliver_sm from a phone; the owner's console is open in Chromium with the
 * conversation showing; the time is from just before the SMSC writes the deliver_sm to the moment the text's item
 * appears in the page's message list (a MutationObserver in the page reads the wall clock, the same clock this
 * process reads: one machine). Samples are taken one after the other, each waiting for the one before, one every
 * 3.1 s (Knock takes at most 20 texts a minute from one number), so 20 samples take about a minute.
 *
 *   node --import tsx bench/smsToBrowser.ts [--samples 20]
 *
 * Knock runs in this process (test/support/knockServer.ts, SQLite), as the integration tests run it.
 */
import { chromium } from 'playwright-core';
import { encodeSms } from '../adapters/channels/sms/smsEncoding.ts';
import { CHROMIUM_ARGS, executablePath } from '../test/support/chromium.ts';
import { startKnock, TEST_PASSWORD } from '../test/support/knockServer.ts';
import { TestSmsc } from '../test/support/smsc.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const SAMPLES = Number(arg('samples', '20'));
const SERVICE = '+15550001111';
const PHONE = '447700900123';
const PACE_MS = 3100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  const knock = await startKnock({ smppUrl: smsc.url, smppSystemId: 'knock', smppPassword: 'pw', smsNumber: SERVICE });
  const browser = await chromium.launch({ executablePath: executablePath(), args: [...CHROMIUM_ARGS] });
  const deliver = (text: string) => {
    const { dataCoding, parts } = encodeSms(text, 1);
    return smsc.deliver({ source_addr: PHONE, source_addr_ton: 1, destination_addr: SERVICE.slice(1), dest_addr_ton: 1, data_coding: dataCoding, short_message: parts[0] });
  };
  try {
    await knock.addUser('alice', 'Alice');
    await smsc.until(() => smsc.boundSessions > 0, 'Knock bound');
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${knock.url}/alice`);
    await page.getByRole('button', { name: 'Owner? Log in' }).click();
    await page.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('list', { name: 'Conversations' }).waitFor();
    await deliver('alice first');
    await page.getByRole('list', { name: 'Conversations' }).getByRole('button', { name: /\+44 7700 900123/ }).click();
    await page.getByRole('list', { name: 'Messages' }).getByText('first', { exact: true }).waitFor();

    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // Knock takes at most 20 texts a minute from one number (MoInbox): one every 3 s stays under it.
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      const body = `sample ${i} ${Date.now()}`;
      // The page watches for the text before it is sent, and reads the wall clock when it shows.
      // As a string: tsx would wrap a function's inner arrows in a helper the page does not have.
      const shown = page.evaluate<number>(`new Promise((resolve) => {
        const text = ${JSON.stringify(body)};
        const list = document.querySelector('[aria-label="Messages"]');
        const observer = new MutationObserver(() => {
          if (![...list.querySelectorAll('p.message-body')].some((p) => p.textContent === text)) return;
          observer.disconnect();
          resolve(performance.timeOrigin + performance.now());
        });
        observer.observe(list, { childList: true, subtree: true, characterData: true });
      })`);
      await page.evaluate('0'); // the observer is installed once this round trip returns
      const sentAt = performance.timeOrigin + performance.now();
      await deliver(body);
      samples.push((await shown) - sentAt);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
    console.log(`deliver_sm -> owner's browser, ${SAMPLES} samples: median ${fmt(percentile(sorted, 50))}, p95 ${fmt(percentile(sorted, 95))}, min ${fmt(sorted[0]!)}, max ${fmt(sorted[sorted.length - 1]!)}`);
    console.log(JSON.stringify({ samples: samples.map((s) => Math.round(s * 10) / 10) }));
  } finally {
    await browser.close();
    await knock.close();
    await smsc.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
