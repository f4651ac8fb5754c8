/**
 * What a reply says that is new: its text without the quoted history mail clients append (issue 17), so a
 * conversation shows "Thanks, see you then" and not the whole thread again under it. Three shapes are recognized:
 *
 * - an attribution line ("On Tue, 12 Mar 2024 Bob <bob@example.com> wrote:", "Am ... schrieb ...:", "Le ... a écrit :"
 *   and the like; clients wrap it over up to three lines) followed by `>`-quoted lines: both go, and what follows
 *   them stays (a reply written below the quote);
 * - Outlook's history: "-----Original Message-----" (and its translations), or a "From: ..." line with a "Sent: ..."
 *   line right after it, perhaps under a line of underscores: everything from there on goes (Outlook puts it last);
 * - `>`-quoted lines at the end, without an attribution (before a signature, if there is one).
 *
 * Quotes between lines of the reply (answers written into the quote) stay: without them the answers mean nothing.
 * Signatures ("-- ") stay. An attribution-like line not followed by a quote is left alone ("On Monday I wrote:" and a
 * list is not history). When nothing would be left (a mail that only quotes), the whole text is the new text.
 *
 * @example
 *   newTextOf('See you then.\n\nOn Mon, 4 Mar 2024 at 10:15, Bob <bob@example.com> wrote:\n> Lunch at noon?\n');
 *   // 'See you then.'
 */

/** How clients say "X wrote:" in the languages seen most: the line's first word and its verb. */
const ATTRIBUTION =
  /^\s*(?:On|Am|Le|El|Op|Il|Em|Den|På|W dniu|Dne)\s.{0,400}?(?:\swrote|\sschrieb|\sa écrit|\sescribió|\sschreef|\sha scritto|\sescreveu|\sskrev|\snapisał|\snapsal)(?:\s.{0,300})?\s*:\s*$/i;
const ORIGINAL_MESSAGE =
  /^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Oorspronkelijk bericht|Messaggio originale|Originalmeddelande)\s*-{2,}\s*$/i;
const OUTLOOK_FROM = /^\s*\*?(?:From|Von|De|Van|Da|Från)\s*:\*?\s*\S/i;
const OUTLOOK_SENT = /^\s*\*?(?:Sent|Gesendet|Envoyé|Enviado|Verzonden|Inviato|Skickat)\s*:\*?\s*\S/i;
const UNDERSCORES = /^\s*_{10,}\s*$/;
const SIGNATURE = /^-- ?$/;

const isQuoted = (line: string): boolean => /^\s*>/.test(line);
const isBlank = (line: string): boolean => line.trim() === '';

/** The text (lines separated by \n) without its quoted history; see the module's comment. */
export function newTextOf(text: string): string {
  const lines = text.split('\n');
  const kept = withoutTrailingQuote(withoutAttributedQuotes(lines.slice(0, outlookHistoryStart(lines))));
  const result = kept.join('\n').replace(/^\s*\n/, '').trimEnd();
  return result === '' ? text.trimEnd() : result;
}

/** Where Outlook's history begins (the lines' length when there is none). */
function outlookHistoryStart(lines: readonly string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (ORIGINAL_MESSAGE.test(line)) return i;
    if (OUTLOOK_FROM.test(line) && lines.slice(i + 1, i + 3).some((next) => OUTLOOK_SENT.test(next))) {
      return i > 0 && UNDERSCORES.test(lines[i - 1]!) ? i - 1 : i;
    }
  }
  return lines.length;
}

/** The lines without each attribution that is followed by a quote, and without that quote. */
function withoutAttributedQuotes(lines: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const span = attributionSpan(lines, i);
    const quoteAt = span === 0 ? -1 : nextNonBlank(lines, i + span);
    if (quoteAt >= 0 && isQuoted(lines[quoteAt]!)) {
      i = quoteAt;
      while (i < lines.length && (isQuoted(lines[i]!) || isBlank(lines[i]!))) i++;
      continue;
    }
    out.push(lines[i]!);
    i++;
  }
  return out;
}

/** How many lines (1 to 3) from `i` make an attribution, or 0. */
function attributionSpan(lines: readonly string[], i: number): number {
  if (isQuoted(lines[i]!) || isBlank(lines[i]!)) return 0;
  for (let span = 1; span <= 3 && i + span <= lines.length; span++) {
    if (ATTRIBUTION.test(lines.slice(i, i + span).join(' '))) return span;
  }
  return 0;
}

function nextNonBlank(lines: readonly string[], from: number): number {
  for (let i = from; i < lines.length; i++) if (!isBlank(lines[i]!)) return i;
  return -1;
}

/** The lines without the quoted block at their end, or else the one just before the signature. */
function withoutTrailingQuote(lines: readonly string[]): string[] {
  const end = quoteStartBefore(lines, lines.length);
  if (end < lines.length) return lines.slice(0, end);
  const signatureAt = lines.findIndex((line) => SIGNATURE.test(line));
  if (signatureAt < 0) return lines.slice();
  const bodyEnd = quoteStartBefore(lines, signatureAt);
  return bodyEnd === signatureAt ? lines.slice() : [...lines.slice(0, bodyEnd), '', ...lines.slice(signatureAt)];
}

/** Where the quote (with the blank lines around it) that ends at `end` starts; `end` when no quote ends there. */
function quoteStartBefore(lines: readonly string[], end: number): number {
  let start = end;
  while (start > 0 && (isQuoted(lines[start - 1]!) || isBlank(lines[start - 1]!))) start--;
  return lines.slice(start, end).some(isQuoted) ? start : end;
}
