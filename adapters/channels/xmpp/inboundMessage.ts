/**
 * Which incoming `<message>` stanzas are texts for the engine, and what they say (InboundText), as a pure function
 * of the stanza. Taken: `type="chat"` or `"normal"` (or none) with a non-empty `<body>` from another user's JID.
 * Not taken: errors, groupchat and headline messages, carbons and archive (MAM) copies, chat states and receipts
 * without a body, messages from Knock's own account or from a server, and bodies that are only blanks.
 *
 * Whether the sender is an owner is not decided here: the engine looks the address up among verified channels.
 *
 * The `externalId` is the engine's idempotency key: `xmpp:<sender bare JID>:<stanza id>`, scoped by sender so one
 * user cannot suppress another's message by reusing its id. A stanza without an id (allowed by RFC 6120 for
 * messages) gets `d-` and a digest of sender, thread, body and the minute it came in: the same text resent by a
 * client within that minute lands once (wanted for a retransmission, but also for a deliberate "ok" twice in a
 * minute), and the same text a minute later is a new message. Clients in use today all set ids.
 *
 * @example
 *   inboundOf(stanza, { ownJid: 'knock@example.org', maxChars: 16_000, nowMs: Date.now() })
 *   // { kind: 'text', text: { kind: 'xmpp', from: 'owner@example.org', text: '#3 on my way', threadId: null,
 *   //                         externalId: 'xmpp:owner@example.org:a1b2' }, cut: false }
 */
import { createHash } from 'node:crypto';
import type { XmlElement } from '@xmpp/client';
import type { InboundText } from '../../../engine/ports/channel.ts';
import { cleanText, cutText } from './chatText.ts';
import { bareJid } from './jidAddress.ts';

const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_MAM = 'urn:xmpp:mam:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
/** Longest thread id and stanza id kept as they are; longer ones are digested (they become keys in storage). */
const MAX_ID_CHARS = 128;

export type Inbound =
  | { kind: 'text'; text: InboundText; /** The body was longer than `maxChars` and was cut. */ cut: boolean }
  | { kind: 'ignored'; reason: 'type' | 'from' | 'own' | 'copy' | 'noBody' };

export interface InboundContext {
  /** Knock's own bare JID, lower case. */
  ownJid: string;
  /** Longest text handed on; the rest is cut. */
  maxChars: number;
  /** Now, for the digest of a stanza without id. */
  nowMs: number;
}

export function inboundOf(stanza: XmlElement, context: InboundContext): Inbound {
  const type = stanza.attrs.type ?? 'normal';
  if (stanza.name !== 'message' || (type !== 'chat' && type !== 'normal')) return { kind: 'ignored', reason: 'type' };
  const from = bareJid(stanza.attrs.from ?? '');
  if (from === null) return { kind: 'ignored', reason: 'from' };
  if (from === context.ownJid) return { kind: 'ignored', reason: 'own' };
  if (isCopy(stanza)) return { kind: 'ignored', reason: 'copy' };
  const body = bodyOf(stanza);
  if (body === null) return { kind: 'ignored', reason: 'noBody' };
  const clean = cleanText(body);
  if (clean.trim() === '') return { kind: 'ignored', reason: 'noBody' };
  const text = cutText(clean, context.maxChars);
  const threadText = cleanText(stanza.getChildText('thread') ?? '').trim();
  const threadId = threadText === '' ? null : boundedId(threadText);
  const id = stanza.attrs.id?.trim();
  const key = id ? boundedId(cleanText(id)) : `d-${digest([from, threadId ?? '', clean, String(Math.floor(context.nowMs / 60_000))])}`;
  return { kind: 'text', text: { kind: 'xmpp', from, text, threadId, externalId: `xmpp:${from}:${key}` }, cut: text !== clean };
}

/** A carbon, an archive result, or a forwarded copy: someone else's message shown to Knock, not one sent to it. */
function isCopy(stanza: XmlElement): boolean {
  return (
    stanza.getChild('received', NS_CARBONS) !== undefined ||
    stanza.getChild('sent', NS_CARBONS) !== undefined ||
    stanza.getChild('result', NS_MAM) !== undefined ||
    stanza.getChild('forwarded', NS_FORWARD) !== undefined
  );
}

/** The body to read: the one without `xml:lang` (the stanza's own language), else the first. */
function bodyOf(stanza: XmlElement): string | null {
  const bodies = stanza.getChildren('body').filter((b) => b.attrs.xmlns === undefined || b.attrs.xmlns === 'jabber:client');
  const body = bodies.find((b) => b.attrs['xml:lang'] === undefined) ?? bodies[0];
  return body === undefined ? null : body.text();
}

/** An id kept as it is when short, else a digest of it (a hostile sender's 100 KB id is no storage key). */
function boundedId(id: string): string {
  return id.length <= MAX_ID_CHARS ? id : `h-${digest([id])}`;
}

function digest(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 22);
}
