/**
 * The plain parts of the XMPP channel (adapters/channels/xmpp/): presence over resources (presenceTable.ts), what
 * the owner reads (chatText.ts), which stanzas become InboundText (inboundMessage.ts), addresses (jidAddress.ts), and
 * the per-sender order and flood cap of inbound texts (inboundQueue.ts), on an injected clock.
 */
import { xml } from '@xmpp/client';
import { describe, expect, it } from 'vitest';
import { cleanText, codeBody, cutText, forwardBody, MAX_BODY_CHARS } from '../../adapters/channels/xmpp/chatText.ts';
import { inboundOf } from '../../adapters/channels/xmpp/inboundMessage.ts';
import { InboundQueue } from '../../adapters/channels/xmpp/inboundQueue.ts';
import { bareJid } from '../../adapters/channels/xmpp/jidAddress.ts';
import { PresenceTable, showOf } from '../../adapters/channels/xmpp/presenceTable.ts';
import { createLogger } from '../../engine/logger.ts';
import type { InboundText } from '../../engine/ports/channel.ts';

const logger = createLogger('silent');
const OWNER = 'owner@example.org';

describe('PresenceTable', () => {
  function table(): PresenceTable {
    const t = new PresenceTable();
    t.watch(OWNER);
    t.startLearning();
    t.learned();
    return t;
  }

  it('is unknown until the subscription is granted, then unavailable without resources', () => {
    const t = table();
    expect(t.presenceOf(OWNER)).toBe('unknown');
    t.subscription(OWNER, { granted: true, pending: false });
    expect(t.presenceOf(OWNER)).toBe('unavailable');
  });

  it('is available when any resource is available or free for chat, away when all are away, xa or dnd', () => {
    const t = table();
    t.subscription(OWNER, { granted: true, pending: false });
    t.resourceAvailable(OWNER, 'phone', showOf('xa'));
    t.resourceAvailable(OWNER, 'laptop', showOf('dnd'));
    expect(t.presenceOf(OWNER)).toBe('away');
    t.resourceAvailable(OWNER, 'laptop', showOf('chat'));
    expect(t.presenceOf(OWNER)).toBe('available');
    t.resourceAvailable(OWNER, 'laptop', showOf(null));
    expect(t.presenceOf(OWNER)).toBe('available');
    t.resourceUnavailable(OWNER, 'laptop');
    expect(t.presenceOf(OWNER)).toBe('away');
    t.resourceUnavailable(OWNER, '');
    expect(t.presenceOf(OWNER)).toBe('unavailable');
  });

  it('says unknown for everyone while not learned, and forgets resources on a new session', () => {
    const t = table();
    t.subscription(OWNER, { granted: true, pending: false });
    t.resourceAvailable(OWNER, 'phone', null);
    t.suspend();
    expect(t.presenceOf(OWNER)).toBe('unknown');
    t.startLearning();
    t.learned();
    expect(t.presenceOf(OWNER)).toBe('unavailable');
  });

  it('keeps nothing of JIDs it does not watch, and forgets an unwatched one', () => {
    const t = table();
    t.resourceAvailable('stranger@example.org', 'x', null);
    expect(t.presenceOf('stranger@example.org')).toBe('unknown');
    expect(t.watched()).toEqual([OWNER]);
    t.unwatch(OWNER);
    expect(t.watched()).toEqual([]);
  });

  it('asks for a subscription once per session, and not when granted', () => {
    const t = table();
    expect(t.needsSubscribe(OWNER)).toBe(true);
    t.subscription(OWNER, { granted: false, pending: true });
    expect(t.needsSubscribe(OWNER)).toBe(false);
    t.startLearning();
    expect(t.needsSubscribe(OWNER)).toBe(true);
    t.subscription(OWNER, { granted: true, pending: false });
    expect(t.needsSubscribe(OWNER)).toBe(false);
  });

  it('believes at most 32 resources of one JID', () => {
    const t = table();
    t.subscription(OWNER, { granted: true, pending: false });
    for (let i = 0; i < 100; i++) t.resourceAvailable(OWNER, `r${i}`, 'away');
    t.resourceAvailable(OWNER, 'one-more', null); // beyond the cap: not believed
    expect(t.presenceOf(OWNER)).toBe('away');
  });
});

describe('chat text', () => {
  const message = { visitorName: 'Ada', tag: '#3', texts: ['Hi!'], link: 'https://knock.example.org/_/console/c/c1' };

  it('says who knocked, what they wrote, the link and how to answer with the tag', () => {
    expect(forwardBody(message)).toBe(
      'Ada knocked (#3):\n> Hi!\n\nOpen the conversation: https://knock.example.org/_/console/c/c1\n' +
        'Reply in this chat to answer Ada. With several visitors at once, start your reply with the tag, e.g. "#3 on my way".',
    );
    expect(forwardBody({ ...message, tag: '3' })).toContain('(#3)');
  });

  it('stays within the body limit however much the visitor wrote, and counts what was left out', () => {
    const body = forwardBody({ ...message, texts: Array.from({ length: 10 }, (_, i) => `${i}`.repeat(5000)) });
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
    expect(body).toMatch(/… and \d+ more messages: open the conversation to read them\./);
    expect(body).toContain(message.link);
    const lines = forwardBody({ ...message, texts: ['\n'.repeat(20_000)] });
    expect(lines.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
  });

  it('keeps a name on one line, so it cannot fake lines of the body', () => {
    expect(forwardBody({ ...message, visitorName: 'Eve\nReply "#1 yes"' }).split('\n')[0]).toBe('Eve Reply "#1 yes" knocked (#3):');
  });

  it('cleans what XML cannot carry and never cuts a surrogate pair in half', () => {
    expect(cleanText('a\u0000b\u0007c\uD800d\u202Ee')).toBe('abcde');
    expect(cutText('ab😀cd', 4)).toBe('ab…');
    expect(cutText('short', 10)).toBe('short');
  });

  it('gives the verification code', () => {
    expect(codeBody('482913')).toContain('Your Knock verification code is 482913.');
  });
});

describe('inbound stanzas', () => {
  const context = { ownJid: 'knock@example.org', maxChars: 100, nowMs: 1_800_000_000_000 };
  const chat = (attrs: Record<string, string>, ...children: ReturnType<typeof xml>[]) =>
    xml('message', { type: 'chat', from: 'Owner@Example.org/phone', to: 'knock@example.org/knock', id: 'm1', ...attrs }, ...children);

  it('takes a chat with a body: the sender as a lower-case bare JID, the thread, an id scoped by sender', () => {
    expect(inboundOf(chat({}, xml('body', {}, '#3 on my way'), xml('thread', {}, 't1')), context)).toEqual({
      kind: 'text',
      cut: false,
      text: { kind: 'xmpp', from: 'owner@example.org', text: '#3 on my way', threadId: 't1', externalId: 'xmpp:owner@example.org:m1' },
    });
  });

  it('ignores errors, groupchat, headlines, copies, bodiless stanzas, blank bodies and Knock\u2019s own messages', () => {
    const ignored = [
      chat({ type: 'error' }, xml('body', {}, 'x')),
      chat({ type: 'groupchat' }, xml('body', {}, 'x')),
      chat({ type: 'headline' }, xml('body', {}, 'x')),
      chat({}, xml('body', {}, 'x'), xml('sent', { xmlns: 'urn:xmpp:carbons:2' })),
      chat({}, xml('body', {}, 'x'), xml('result', { xmlns: 'urn:xmpp:mam:2' })),
      chat({}, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })),
      chat({}, xml('body', {}, ' \n\u0000 ')),
      chat({ from: 'knock@example.org/other' }, xml('body', {}, 'x')),
      chat({ from: 'example.org' }, xml('body', {}, 'server announcement')),
    ];
    expect(ignored.map((s) => inboundOf(s, context).kind)).toEqual(ignored.map(() => 'ignored'));
  });

  it('cuts a long body and digests a huge id', () => {
    const result = inboundOf(chat({ id: 'i'.repeat(5000) }, xml('body', {}, 'y'.repeat(1000))), context);
    expect(result).toMatchObject({ kind: 'text', cut: true });
    if (result.kind !== 'text') return;
    expect(result.text.text).toHaveLength(100);
    expect(result.text.externalId).toMatch(/^xmpp:owner@example\.org:h-[\w-]{22}$/);
  });

  it('makes an id for a stanza without one from sender, thread, body and minute', () => {
    const noId = (nowMs: number, body = 'ok') => {
      const stanza = chat({}, xml('body', {}, body));
      delete stanza.attrs.id;
      const result = inboundOf(stanza, { ...context, nowMs });
      return result.kind === 'text' ? result.text.externalId : null;
    };
    expect(noId(context.nowMs)).toMatch(/^xmpp:owner@example\.org:d-/);
    expect(noId(context.nowMs + 1000)).toBe(noId(context.nowMs));
    expect(noId(context.nowMs + 60_000)).not.toBe(noId(context.nowMs));
    expect(noId(context.nowMs, 'other')).not.toBe(noId(context.nowMs));
  });
});

describe('bareJid', () => {
  it('lower-cases, drops the resource, and refuses what is no user JID', () => {
    expect(bareJid(' Owner@Example.org/Phone ')).toBe('owner@example.org');
    for (const bad of ['owner', '@example.org', 'owner@', 'a b@example.org', 'owner@@example.org', 'owner@exa mple.org', `${'x'.repeat(300)}@example.org`]) {
      expect(bareJid(bad)).toBeNull();
    }
  });
});

describe('InboundQueue', () => {
  const text = (from: string, n: number): InboundText => ({ kind: 'xmpp', from, text: `${n}`, threadId: null, externalId: `xmpp:${from}:${n}` });

  it('keeps one sender\u2019s order with a slow handler, caps each sender, and takes them again once the bucket refills', async () => {
    let now = 0;
    const queue = new InboundQueue({ perWindow: 3, windowMs: 3000 }, { now: () => now }, logger);
    const got: string[] = [];
    queue.onText(async (t) => {
      if (t.text === '0') await new Promise((resolve) => setImmediate(resolve));
      got.push(`${t.from}:${t.text}`);
    });
    const taken = [0, 1, 2, 3, 4].map((n) => queue.push(text('a', n)));
    queue.push(text('b', 0));
    expect(taken).toEqual([true, true, true, false, false]);
    now += 1000;
    expect(queue.push(text('a', 5))).toBe(true);
    await queue.idle();
    expect(got.filter((g) => g.startsWith('a:'))).toEqual(['a:0', 'a:1', 'a:2', 'a:5']);
    expect(got).toContain('b:0');
  });

  it('logs a failing handler and goes on', async () => {
    const queue = new InboundQueue({ perWindow: 10, windowMs: 1000 }, { now: () => 0 }, logger);
    const got: string[] = [];
    queue.onText(async (t) => {
      if (t.text === '0') throw new Error('boom');
      got.push(t.text);
    });
    queue.push(text('a', 0));
    queue.push(text('a', 1));
    await queue.idle();
    expect(got).toEqual(['1']);
  });
});
