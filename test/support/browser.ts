/**
 * Real Chromium for the end-to-end tests (CONVENTIONS 13): one browser per test file, a fresh context (its own
 * cookies and storage: another person, or another device) for every page a test opens.
 *
 * Every page is watched for what must never happen: a JavaScript dialog (injected script running), a Content
 * Security Policy violation, an uncaught exception. Any of them fails the test in `afterEach`, with what was seen.
 * A failed test leaves a screenshot of each of its pages in `test-results/e2e/` and prints their console; set
 * KNOCK_E2E_CONSOLE=1 to print the console of passing tests too.
 *
 * @example
 *   const browser = useBrowser();                    // calls: useBrowser({ args: CALL_ARGS })
 *   it('...', async () => {
 *     const page = await browser.newPage();
 *     await page.goto(`${knock.url}/alice`);
 *   });
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, executablePath } from './chromium.ts';

export { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, CHROMIUM_ARGS, executablePath } from './chromium.ts';

/** How long any single wait in the UI may take: a few seconds, never a fixed sleep. */
export const UI_TIMEOUT_MS = 5_000;
/** Loading a page starts a renderer and parses the app: slower than a UI change on a busy machine. */
const NAVIGATION_TIMEOUT_MS = 15_000;
/**
 * For a whole browser test: each step waits at most UI_TIMEOUT_MS, but a test opens two or three contexts and logs
 * in, which takes far longer than usual when other test runs share the CPU.
 */
export const E2E_TEST_TIMEOUT_MS = 60_000;

const RESULTS_DIR = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));

/** What a page did that it never should; collected while the test runs, checked after it. */
interface Watch {
  label: string;
  page: Page;
  problems: string[];
  /** Every console line, printed when the test fails (to see why). */
  console: string[];
}

export interface BrowserHarness {
  /** A page in a fresh context. `label` names it in failure reports and screenshot files. */
  newPage(label: string, options?: BrowserContextOptions): Promise<Page>;
  /** What was caught on `page` so far (dialogs, CSP violations, uncaught errors). */
  problemsOf(page: Page): readonly string[];
  /** Forgets what was caught on `page`: for a test that provokes a problem on purpose to check the watch sees it. */
  forgetProblems(page: Page): void;
}


/** Registers the hooks that launch one Chromium for this file and give each test fresh contexts. */
/**
 * `args`: more Chromium flags (CALL_ARGS for calls), or a function giving them when the browser starts (flags known
 * only once the file's own beforeAll ran, registered before this call: a certificate's key to trust). `timeoutMs`: how
 * long one UI step may take; pages that encode and decode live video answer a click more slowly on a busy machine than
 * chat pages do.
 */
export function useBrowser(harness: { args?: readonly string[] | (() => readonly string[]); timeoutMs?: number } = {}): BrowserHarness {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const watches: Watch[] = [];

  beforeAll(async () => {
    const extra = typeof harness.args === 'function' ? harness.args() : (harness.args ?? []);
    browser = await chromium.launch({ executablePath: executablePath(), headless: true, args: [...CHROMIUM_ARGS, ...extra] });
  });

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    try {
      if (process.env.KNOCK_E2E_CONSOLE === '1' && !failed) {
        for (const w of watches) if (w.console.length > 0) console.log(`[${w.label}] console:\n  ${w.console.join('\n  ')}`);
      }
      if (failed) {
        await mkdir(RESULTS_DIR, { recursive: true });
        const base = `${path.basename(context.task.file.name, '.ts')}--${slug(context.task.name)}`;
        for (const w of watches) {
          const file = path.join(RESULTS_DIR, `${base}--${slug(w.label)}.png`);
          await w.page.screenshot({ path: file, fullPage: true, timeout: UI_TIMEOUT_MS }).catch(() => undefined);
          if (w.console.length > 0) console.log(`[${w.label}] console:\n  ${w.console.join('\n  ')}`);
        }
        if (watches.length > 0) console.log(`Screenshots of the failed test: ${RESULTS_DIR}${base}--*.png`);
      }
      const problems = watches.flatMap((w) => w.problems.map((p) => `[${w.label}] ${p}`));
      if (problems.length > 0) {
        throw new Error(`The pages did what they never should:\n  ${problems.join('\n  ')}`);
      }
    } finally {
      watches.length = 0;
      await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
    }
  });

  afterAll(async () => {
    await browser?.close();
  });

  const watchOf = (page: Page): Watch => {
    const found = watches.find((w) => w.page === page);
    if (found === undefined) throw new Error('This page was not opened by useBrowser().newPage.');
    return found;
  };

  return {
    async newPage(label, options = {}) {
      if (browser === undefined) throw new Error('useBrowser(): the browser is not launched yet (call newPage in a test).');
      const context = await browser.newContext(options);
      contexts.push(context);
      context.setDefaultTimeout(harness.timeoutMs ?? UI_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
      const page = await context.newPage();
      const watch: Watch = { label, page, problems: [], console: [] };
      watches.push(watch);
      page.on('dialog', (dialog) => {
        watch.problems.push(`a ${dialog.type()} dialog opened: ${JSON.stringify(dialog.message())}`);
        dialog.dismiss().catch(() => undefined);
      });
      page.on('pageerror', (error) => watch.problems.push(`uncaught error: ${error.message}`));
      page.on('console', (message) => {
        const text = message.text();
        watch.console.push(`${message.type()}: ${text}`);
        if (/Content Security Policy/i.test(text)) watch.problems.push(`CSP violation: ${text}`);
      });
      return page;
    },
    problemsOf(page) {
      return [...watchOf(page).problems];
    },
    forgetProblems(page) {
      watchOf(page).problems.length = 0;
    },
  };
}

function slug(text: string): string {
  return text.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 80);
}
