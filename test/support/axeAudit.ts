/**
 * axe-core run inside a real page, in every way a person may see it: light and dark colour scheme, a desktop window
 * and a 360 px wide phone. What counts is the Definition of done: no serious or critical violation of the WCAG 2.1
 * A/AA rules, and nothing to scroll sideways at 360 px.
 *
 * The page's Content-Security-Policy allows no inline script, so axe is not added as a <script>: its source is
 * evaluated through the DevTools protocol (page.evaluate), which the CSP does not govern.
 *
 * @example
 *   const audit = new AccessibilityAudit();
 *   await audit.check(page, 'the landing page');
 *   audit.expectClean();
 */
import { expect } from 'vitest';
import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** The rules of WCAG 2.0 and 2.1, levels A and AA. */
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING = new Set(['serious', 'critical']);

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 360, height: 740 } as const;

const SCHEMES = ['light', 'dark'] as const;
const SIZES = [
  { name: 'desktop', viewport: DESKTOP },
  { name: '360 px', viewport: PHONE },
] as const;

/** One violation as axe reports it, reduced to what says where and what to fix. */
interface Finding {
  rule: string;
  impact: string;
  help: string;
  target: string;
  /** The element's opening markup, cut short: a selector alone ("a", "button") may not say which one. */
  html: string;
  summary: string;
}

export class AccessibilityAudit {
  /** What was found, keyed by rule, element and summary, with every page and variant it showed on. */
  readonly #found = new Map<string, { finding: Finding; where: string[] }>();
  readonly #overflows: string[] = [];
  /** Count of checks made, so a test that audited nothing cannot pass. */
  checks = 0;

  /**
   * Runs axe on `page` as it is now, in light and dark, at desktop width and at 360 px, then leaves the page as it
   * found it (desktop, light). `where` names the page in the report ("the console with a conversation open").
   */
  async check(page: Page, where: string): Promise<void> {
    for (const size of SIZES) {
      await page.setViewportSize(size.viewport);
      for (const colorScheme of SCHEMES) {
        await page.emulateMedia({ colorScheme });
        await settled(page);
        const variant = `${where} (${colorScheme}, ${size.name})`;
        for (const finding of await runAxe(page)) this.#add(finding, variant);
        this.checks += 1;
      }
      if (size.viewport === PHONE) {
        const width = await page.evaluate(() => (document.scrollingElement ?? document.documentElement).scrollWidth);
        if (width > PHONE.width) this.#overflows.push(`${where}: ${width} px wide, scrolls sideways at ${PHONE.width} px`);
      }
    }
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: 'light' });
    await settled(page);
  }

  /** Every finding, one block per rule and element, saying on which pages; empty when all is well. */
  report(): string[] {
    const blocks = [...this.#found.values()]
      .sort((a, b) => a.finding.rule.localeCompare(b.finding.rule))
      .map(({ finding: f, where }) =>
        [
          `${f.rule} (${f.impact}): ${f.help}`,
          `  element: ${f.target}  ${f.html}`,
          `  ${f.summary.replace(/\n/g, '\n  ')}`,
          `  on ${where.length} page(s): ${where.join('; ')}`,
        ].join('\n'),
      );
    return [...blocks, ...this.#overflows];
  }

  /** Fails with the whole report when anything serious, critical or sideways-scrolling was found. */
  expectClean(): void {
    expect(this.checks, 'pages audited').toBeGreaterThan(0);
    const report = this.report();
    // Thrown rather than compared, so the report is printed once and readable, not as a diff of strings.
    if (report.length > 0) throw new Error(`${report.length} accessibility problem(s):\n\n${report.join('\n\n')}\n`);
  }

  #add(finding: Finding, where: string): void {
    const key = `${finding.rule}\n${finding.target}\n${finding.summary}`;
    const entry = this.#found.get(key) ?? { finding, where: [] };
    entry.where.push(where);
    this.#found.set(key, entry);
  }
}

/** Two animation frames: the new viewport or colour scheme is laid out and painted. */
async function settled(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

type AxeWindow = { axe?: typeof axe };

async function runAxe(page: Page): Promise<Finding[]> {
  // Once per document: a navigation starts a new one without axe.
  if (!(await page.evaluate(() => (window as AxeWindow).axe !== undefined))) await page.evaluate(axe.source);
  return page.evaluate(
    async ({ tags, blocking }) => {
      const engine = (window as AxeWindow).axe;
      if (engine === undefined) throw new Error('axe-core did not load in the page');
      const results = await engine.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      return results.violations
        .filter((v) => v.impact != null && blocking.includes(v.impact))
        .flatMap((v) =>
          v.nodes.map((node) => ({
            rule: v.id,
            impact: v.impact ?? 'unknown',
            help: v.help,
            target: node.target.map(String).join(' > '),
            html: node.html.length > 120 ? `${node.html.slice(0, 120)}…` : node.html,
            summary: node.failureSummary ?? '',
          })),
        );
    },
    { tags: WCAG_21_AA, blocking: [...BLOCKING] },
  );
}
