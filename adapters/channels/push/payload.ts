/**
 * What a push notification carries, before RFC 8291 encryption: the JSON the console's service worker decrypts
 * (the browser does that) and shows with `registration.showNotification(title, { body, tag, data: { url } })`,
 * opening `url` on a click. One zod schema (CONVENTIONS 3): the service worker's author reads it here, and the test
 * checks the saved sample (samples/payload.json) against it.
 *
 * Push services take about 4 KB of encrypted body (RFC 8030 promises 4096 bytes; aes128gcm adds 103), so a payload
 * is kept under MAX_PAYLOAD_BYTES by cutting the body: the notification shows a glimpse and the link opens the rest.
 *
 * @example
 *   const text = JSON.stringify(forwardPayload(message)); // ≤ 3072 bytes of UTF-8
 *   const topic = topicOf(message.conversationId); // 32 base64url characters
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ForwardMessage } from '../../../engine/ports/channel.ts';

export const pushPayload = z.object({
  /** `knock.forward`: a knock the owner missed; `knock.test`: the notification sent when the device subscribed. */
  type: z.enum(['knock.forward', 'knock.test']),
  /** The notification's title (`Ada knocked`). */
  title: z.string(),
  /** The visitor's messages in this forward, oldest first, one per line; cut with `…` to fit. */
  body: z.string(),
  /** What a click opens: the conversation in the console; null for the test notification. */
  url: z.string().nullable(),
  /**
   * The Notification API's `tag`: the conversation's id, so a newer forward of a conversation replaces its older
   * notification on the device instead of piling up.
   */
  tag: z.string(),
});
export type PushPayload = z.infer<typeof pushPayload>;

/** The most bytes of UTF-8 JSON a notification carries before encryption (push services refuse over ~4 KB). */
export const MAX_PAYLOAD_BYTES = 3072;
/** The most characters of the visitor's name in a title. */
export const MAX_NAME_CHARS = 64;
const ELLIPSIS = '…';

/** The notification of a forward, its body cut so the whole JSON fits in `maxBytes`. */
export function forwardPayload(message: ForwardMessage, maxBytes: number = MAX_PAYLOAD_BYTES): PushPayload {
  const name = cut(message.visitorName.trim(), MAX_NAME_CHARS) || 'A visitor';
  const payload: PushPayload = { type: 'knock.forward', title: `${name} knocked`, body: '', url: message.link, tag: message.conversationId };
  return fitted(payload, message.texts.join('\n'), maxBytes);
}

/** The notification that says a device is now subscribed (Channel.sendCode). */
export function testPayload(serviceName: string): PushPayload {
  return {
    type: 'knock.test',
    title: `Notifications are on for ${cut(serviceName, MAX_NAME_CHARS)}`,
    body: 'A knock you miss will show here, even when Knock is closed.',
    url: null,
    tag: 'knock-test',
  };
}

/** `payload` with as much of `body` as fits in `maxBytes` of JSON; throws if not even an empty body fits. */
export function fitted(payload: PushPayload, body: string, maxBytes: number): PushPayload {
  const size = (text: string) => Buffer.byteLength(JSON.stringify({ ...payload, body: text }), 'utf8');
  if (size(body) <= maxBytes) return { ...payload, body };
  // Cut by code points (never inside a surrogate pair) and find the longest start that fits, with its ellipsis:
  // JSON escapes and multi-byte characters make the size of a prefix unknowable without measuring it.
  const points = Array.from(body);
  let fits = 0;
  let tooLong = points.length;
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (size(points.slice(0, middle).join('') + ELLIPSIS) <= maxBytes) fits = middle;
    else tooLong = middle;
  }
  const shown = points.slice(0, fits).join('') + ELLIPSIS;
  if (size(shown) > maxBytes) throw new Error(`A push notification's title and link alone exceed ${maxBytes} bytes.`);
  return { ...payload, body: shown };
}

/**
 * The push `Topic` of a conversation (RFC 8030 §5.4): a newer message with the same topic replaces an older one the
 * push service still holds for an offline device. A hash, so the push service does not learn the conversation's id;
 * 32 base64url characters, the most a Topic may have.
 */
export function topicOf(conversationId: string): string {
  return createHash('sha256').update(`knock-conversation:${conversationId}`).digest('base64url').slice(0, 32);
}

/** The first `max` code points of `text`, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : points.slice(0, max - 1).join('') + ELLIPSIS;
}
