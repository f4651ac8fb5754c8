/**
 * The words of Knock's chat messages to an owner (a forward, a verification code), and the cleaning every text gets
 * before it goes into or comes out of a stanza. Plain functions, so unit tests read exactly what the owner reads.
 *
 * A forward's body stays within `MAX_BODY_CHARS` (10,000) whatever the visitor typed: servers commonly cap a stanza
 * (Prosody's default c2s/s2s stanza limit is 256 KiB, ejabberd's max_stanza_size often 64-256 KiB, and some
 * deployments less), and a phone's chat bubble is no place for more. Each text is cut to `MAX_TEXT_CHARS`, texts that
 * no longer fit are counted ("… and 3 more messages"), and the link to the whole conversation is always there.
 *
 * @example
 *   forwardBody({ visitorName: 'Ada', tag: '#3', texts: ['Hi!'], link: 'https://k.example/c/1', ... })
 *   // 'Ada knocked (#3):\n> Hi!\n\nOpen the conversation: https://k.example/c/1\nReply in this chat to answer Ada. ...'
 */
import type { ForwardMessage } from '../../../engine/ports/channel.ts';

/** The most characters of a forward's body (UTF-16 code units). */
export const MAX_BODY_CHARS = 10_000;
/** The most characters of one of the visitor's texts inside a forward. */
export const MAX_TEXT_CHARS = 4_000;
/** The most characters of the visitor's name as shown. */
const MAX_NAME_CHARS = 64;

/**
 * Characters XML 1.0 does not allow (C0 controls but tab and line breaks, U+FFFE/U+FFFF) and lone surrogates: one
 * of them in a stanza makes the server close Knock's whole stream as not well-formed.
 */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;
/** Other controls that make a text look like something it is not (C1 controls, bidirectional overrides). */
const MISLEADING = /[\u0080-\u009F\u202A-\u202E\u2066-\u2069]/gu;

/** `text` with what XML cannot carry, and misleading controls, taken out. */
export function cleanText(text: string): string {
  return text.replace(NOT_XML, '').replace(MISLEADING, '');
}

/**
 * The first `max` UTF-16 code units of `text`, never splitting a surrogate pair, with `…` when something was cut.
 * Returns `text` itself when it fits.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // would keep the first half of a pair
  return `${text.slice(0, end)}…`;
}

/** A name on one line: line breaks and runs of spaces become one space (a name cannot fake lines of the body). */
function oneLine(text: string, max: number): string {
  return cutText(cleanText(text).replace(/\s+/gu, ' ').trim(), max);
}

/** The tag as the owner types it: `#3` (tags are `#` and a number; a bare `3` gets its `#`). */
export function tagOf(tag: string): string {
  const clean = oneLine(tag, 16);
  return clean.startsWith('#') ? clean : `#${clean}`;
}

/** The body of a forward: who knocked, what they wrote, the link, and how to answer. */
export function forwardBody(message: Pick<ForwardMessage, 'visitorName' | 'tag' | 'texts' | 'link'>): string {
  const name = oneLine(message.visitorName, MAX_NAME_CHARS) || 'A visitor';
  const tag = tagOf(message.tag);
  const head = `${name} knocked (${tag}):`;
  const tail = [
    '',
    `Open the conversation: ${oneLine(message.link, 2000)}`,
    `Reply in this chat to answer ${name}. With several visitors at once, start your reply with the tag, e.g. "${tag} on my way".`,
  ].join('\n');
  // What the texts may take, keeping room for the "… and N more" line.
  let budget = MAX_BODY_CHARS - head.length - tail.length - 64;
  const quoted: string[] = [];
  let shown = 0;
  for (const raw of message.texts) {
    const lines = cutText(cleanText(raw).trim(), MAX_TEXT_CHARS)
      .split(/\r\n|\r|\n/u)
      .map((line) => `> ${line}`)
      .join('\n');
    if (lines.length + 1 > budget) {
      // A text of many short lines may not fit even alone: show what fits of it rather than nothing.
      if (budget > 200) {
        quoted.push(cutText(lines, budget - 1));
        shown++;
      }
      break;
    }
    quoted.push(lines);
    budget -= lines.length + 1;
    shown++;
  }
  const more = message.texts.length - shown;
  if (more > 0) quoted.push(`… and ${more} more ${more === 1 ? 'message' : 'messages'}: open the conversation to read them.`);
  return [head, ...quoted, tail].join('\n');
}

/** The body of the verification message. */
export function codeBody(code: string): string {
  return `Your Knock verification code is ${oneLine(code, 64)}. Type it in Knock under Settings → Channels to verify this address. If you did not add this address to Knock, ignore this message.`;
}
