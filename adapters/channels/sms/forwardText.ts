/**
 * The text of a forward as an SMS: who wrote, what (as much as fits), the link, and how to answer; short, since every
 * part is billed. The visitor's words are cut (with an ellipsis) so that the link and the reply instructions always
 * fit within the part cap.
 *
 * @example
 *   forwardSms({ visitorName: 'Ada', tag: '3', texts: ['Hi!'], link: 'https://k.example/c/1', ... }, 6);
 *   // 'Ada (#3): Hi!\nhttps://k.example/c/1\nReply here; start with #3 for this visitor.'
 */
import type { ForwardMessage } from '../../../engine/ports/channel.ts';
import { encodeSms, isGsm7 } from './smsEncoding.ts';

/** The SMS text of a forward, fitting in `maxParts` parts without being cut by encodeSms. */
export function forwardSms(message: ForwardMessage, maxParts: number): string {
  const tag = `#${message.tag.replace(/^#/, '')}`;
  const head = `${oneLine(message.visitorName) || 'A visitor'} (${tag}): `;
  const tail = `\n${message.link}\nReply here; start with ${tag} for this visitor.`;
  const body = message.texts.map((text) => text.trim()).filter(Boolean).join('\n');
  const whole = head + body + tail;
  if (!encodeSms(whole, maxParts).truncated) return whole;
  const ellipsis = isGsm7(whole) ? '...' : '…';
  const chars = [...body];
  // The longest prefix of the visitor's words that fits; fitting is monotone in the prefix length.
  let [low, high] = [0, chars.length];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (encodeSms(head + chars.slice(0, mid).join('') + ellipsis + tail, maxParts).truncated) high = mid - 1;
    else low = mid;
  }
  return head + chars.slice(0, low).join('') + ellipsis + tail;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 40);
}
