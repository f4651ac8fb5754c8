/** Colour contrast as WCAG 2.1 defines it, read from a page in Chromium (browser tests of the message list). */
import type { Page } from 'playwright-core';

/** The contrast ratio (WCAG 2.1) of the first element matching `selector`: its text against the background behind it. */
export function contrastOf(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (el) => {
    const rgb = (css: string): [number, number, number, number] => {
      const [r = 0, g = 0, b = 0, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number);
      return [r, g, b, a];
    };
    const luminance = ([r, g, b]: [number, number, number, number]) => {
      const lin = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    let background: Element | null = el;
    while (background !== null && rgb(getComputedStyle(background).backgroundColor)[3] === 0) background = background.parentElement;
    const behind = rgb(background === null ? 'rgb(255, 255, 255)' : getComputedStyle(background).backgroundColor);
    const [fg, bg] = [luminance(rgb(getComputedStyle(el).color)), luminance(behind)];
    return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  });
}
