/**
 * Forwarding routing without I/O (engine/forwarding/routing.ts, quietHours.ts): escalation order and delays, presence,
 * quiet hours in zones other than the machine's (across DST changes), batching, cancellation, reply routing and tags.
 * Times are plain numbers, as the injected Clock gives them.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { QuietHours } from '../../engine/forwarding/quietHours.ts';
import {
  allocateTag,
  closeForward,
  FOLLOW_UP_WINDOW_MS,
  planForward,
  routeNewMessage,
  routeReply,
  type ForwardPlanInput,
  type ForwardSent,
  type PendingForward,
} from '../../engine/forwarding/routing.ts';
import type { ChannelKind, ChannelPresence, ForwardingSettings, OwnerChannel } from '../../engine/ports/channel.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

function channel(id: string, kind: ChannelKind, position: number, delayMs: number, verified = true): OwnerChannel {
  return { id, accountId: 'a1', kind, address: `${id}@example.org`, secret: null, verified, position, delayMs };
}

const noQuiet: ForwardingSettings = { paused: false, timeZone: 'UTC', quietHours: null, xmppAwayCounts: false };
/** The example: XMPP now, email after 2 minutes, SMS after 10. */
const xmpp = channel('x', 'xmpp', 0, 0);
const email = channel('e', 'email', 1, 2 * MIN);
const sms = channel('s', 'sms', 2, 10 * MIN);

function plan(overrides: Partial<ForwardPlanInput> & { presence?: ChannelPresence }) {
  const presence = overrides.presence ?? 'unknown';
  return planForward({
    knockAt: Date.UTC(2024, 0, 10, 12),
    channels: [sms, xmpp, email],
    presenceOf: () => presence,
    settings: noQuiet,
    ...overrides,
  });
}
const idsAndOffsets = (steps: Array<{ channelId: string; at: number }>, from: number) =>
  steps.map((s) => [s.channelId, (s.at - from) / MIN]);

describe('planForward: escalation order and delays', () => {
  const knockAt = Date.UTC(2024, 0, 10, 12);

  it('tries verified channels in their order, each delay counted from the knock', () => {
    expect(idsAndOffsets(plan({}), knockAt)).toEqual([['x', 0], ['e', 2], ['s', 10]]);
  });

  it('leaves out unverified channels', () => {
    const unverifiedEmail = channel('e', 'email', 1, 2 * MIN, false);
    expect(idsAndOffsets(plan({ channels: [xmpp, unverifiedEmail, sms] }), knockAt)).toEqual([['x', 0], ['s', 10]]);
  });

  it('plans nothing when forwarding is paused or no channel is verified', () => {
    expect(plan({ settings: { ...noQuiet, paused: true } })).toEqual([]);
    expect(plan({ channels: [channel('e', 'email', 0, 0, false)] })).toEqual([]);
    expect(plan({ channels: [] })).toEqual([]);
  });

  it('puts an XMPP channel showing available presence first, at the time the first step would go', () => {
    const lateXmpp = channel('x', 'xmpp', 2, 30 * MIN);
    const graceEmail = channel('e', 'email', 0, 1 * MIN);
    const steps = plan({ channels: [graceEmail, sms, lateXmpp], presence: 'available' });
    expect(idsAndOffsets(steps, knockAt)).toEqual([['x', 1], ['e', 1], ['s', 10]]);
  });

  it('skips an away or unavailable XMPP channel, and does not push the later channels back', () => {
    expect(idsAndOffsets(plan({ presence: 'away' }), knockAt)).toEqual([['e', 2], ['s', 10]]);
    expect(idsAndOffsets(plan({ presence: 'unavailable' }), knockAt)).toEqual([['e', 2], ['s', 10]]);
  });

  it('counts away as reachable when xmppAwayCounts is set', () => {
    const lateXmpp = channel('x', 'xmpp', 2, 30 * MIN);
    const steps = plan({ channels: [email, lateXmpp], presence: 'away', settings: { ...noQuiet, xmppAwayCounts: true } });
    expect(idsAndOffsets(steps, knockAt)).toEqual([['x', 2], ['e', 2]]);
  });

  it('tries an XMPP channel of unknown presence in its place in the list', () => {
    const midXmpp = channel('x', 'xmpp', 1, 5 * MIN);
    const steps = plan({ channels: [channel('e', 'email', 0, 0), midXmpp, sms], presence: 'unknown' });
    expect(idsAndOffsets(steps, knockAt)).toEqual([['e', 0], ['x', 5], ['s', 10]]);
  });

  it('raises a delay shorter than an earlier channel’s, so the plan keeps the owner’s order', () => {
    const steps = plan({ channels: [channel('e', 'email', 0, 10 * MIN), channel('s', 'sms', 1, 2 * MIN)] });
    expect(idsAndOffsets(steps, knockAt)).toEqual([['e', 10], ['s', 10]]);
  });
});

describe('planForward: quiet hours in the owner’s time zone', () => {
  const night = { start: 22 * 60, end: 7 * 60 };
  const inZone = (timeZone: string, quietHours = night): ForwardingSettings => ({ ...noQuiet, timeZone, quietHours });

  it('holds steps that fall in New York’s night until 07:00 there, keeping the owner’s spacing', () => {
    const knockAt = Date.UTC(2024, 0, 11, 2, 59); // 21:59 EST
    const steps = plan({ knockAt, settings: inZone('America/New_York') });
    const morning = Date.UTC(2024, 0, 11, 12); // 07:00 EST
    expect(steps.map((s) => s.at)).toEqual([knockAt, morning, morning + 8 * MIN]);
  });

  it('holds a knock in Kolkata’s night until 07:00 IST (a half-hour offset)', () => {
    const knockAt = Date.UTC(2024, 0, 10, 17, 30); // 23:00 IST
    expect(plan({ knockAt, settings: inZone('Asia/Kolkata') }).map((s) => s.at - Date.UTC(2024, 0, 11, 1, 30))).toEqual([
      0,
      2 * MIN,
      10 * MIN,
    ]);
  });

  it('ends the night at 07:00 local across the spring-forward and fall-back changes in New York', () => {
    const spring = plan({ knockAt: Date.UTC(2024, 2, 10, 4), channels: [xmpp], settings: inZone('America/New_York') });
    expect(spring[0]?.at).toBe(Date.UTC(2024, 2, 10, 11)); // 23:00 EST -> 07:00 EDT is 7 hours later, not 8
    const fall = plan({ knockAt: Date.UTC(2024, 10, 3, 3), channels: [xmpp], settings: inZone('America/New_York') });
    expect(fall[0]?.at).toBe(Date.UTC(2024, 10, 3, 12)); // 23:00 EDT -> 07:00 EST is 9 hours later
  });

  it('ends quiet hours whose end does not exist that day (02:30 on spring-forward night) at the gap', () => {
    const quiet = new QuietHours({ start: 60, end: 150 }, 'America/New_York');
    const at = Date.UTC(2024, 2, 10, 6, 15); // 01:15 EST
    expect(quiet.nextAllowed(at)).toBe(Date.UTC(2024, 2, 10, 7)); // 03:00 EDT, the first minute after 01:59 EST
  });

  it('holds a step after midnight until the same morning, and leaves the day alone', () => {
    const quiet = new QuietHours(night, 'Asia/Kolkata');
    const threeAm = Date.UTC(2024, 5, 1, 21, 30); // 03:00 IST on 2 June
    expect(quiet.nextAllowed(threeAm)).toBe(Date.UTC(2024, 5, 2, 1, 30)); // 07:00 IST the same day
    const noon = Date.UTC(2024, 5, 2, 6, 30);
    expect(quiet.contains(noon)).toBe(false);
    expect(quiet.nextAllowed(noon)).toBe(noon);
  });

  it('takes quiet hours within one day (start < end) and treats start = end as none', () => {
    const lunch = new QuietHours({ start: 12 * 60, end: 13 * 60 }, 'Asia/Kolkata');
    expect(lunch.nextAllowed(Date.UTC(2024, 5, 2, 6, 40))).toBe(Date.UTC(2024, 5, 2, 7, 30)); // 12:10 -> 13:00 IST
    expect(lunch.contains(Date.UTC(2024, 5, 2, 7, 30))).toBe(false); // the end itself is outside
    expect(new QuietHours({ start: 600, end: 600 }, 'UTC').contains(Date.UTC(2024, 5, 2, 10))).toBe(false);
  });

  it('refuses a zone Intl does not know (Settings checks it before it is stored)', () => {
    expect(() => plan({ settings: inZone('Mars/Olympus_Mons') })).toThrow(RangeError);
  });

  describe('whatever zone the machine is in', () => {
    const machineZone = process.env.TZ;
    afterEach(() => {
      if (machineZone === undefined) delete process.env.TZ;
      else process.env.TZ = machineZone;
    });

    it('plans the same instants with the process in Pacific/Kiritimati (UTC+14) as in UTC', () => {
      const input = { knockAt: Date.UTC(2024, 0, 11, 2, 59), settings: inZone('America/New_York') };
      process.env.TZ = 'UTC';
      const inUtc = plan(input);
      process.env.TZ = 'Pacific/Kiritimati';
      expect(new Date(0).getTimezoneOffset()).not.toBe(0); // Node took the new zone
      expect(plan(input)).toEqual(inUtc);
    });
  });
});

describe('planForward: properties', () => {
  const zones = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Europe/Berlin', 'Australia/Lord_Howe', 'Pacific/Chatham'];
  const kinds: ChannelKind[] = ['xmpp', 'email', 'sms', 'webhook', 'push'];
  const arbChannels = fc.uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      accountId: fc.constant('a1'),
      kind: fc.constantFrom(...kinds),
      address: fc.constant('addr'),
      secret: fc.constant(null),
      verified: fc.boolean(),
      position: fc.nat(5),
      delayMs: fc.integer({ min: 0, max: 36 * HOUR }),
    }),
    { selector: (c) => c.id, maxLength: 6 },
  );
  const arbSettings = fc.record({
    paused: fc.boolean(),
    timeZone: fc.constantFrom(...zones),
    quietHours: fc.option(fc.record({ start: fc.nat(1439), end: fc.nat(1439) })),
    xmppAwayCounts: fc.boolean(),
  });
  const arbInput = fc.record({
    knockAt: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
    channels: arbChannels,
    presence: fc.constantFrom<ChannelPresence>('available', 'away', 'unavailable', 'unknown'),
    settings: arbSettings,
  });
  const toPlanInput = (i: { knockAt: number; channels: OwnerChannel[]; presence: ChannelPresence; settings: ForwardingSettings }) => ({
    ...i,
    presenceOf: () => i.presence,
  });

  /** Minutes after local midnight, read with a formatter of the test's own (not the code's). */
  const localMinute = (at: number, timeZone: string) => {
    const [h, m] = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .format(at)
      .split(':')
      .map(Number);
    return (h ?? 0) * 60 + (m ?? 0);
  };
  const inQuiet = (minute: number, q: { start: number; end: number }) =>
    q.start < q.end ? minute >= q.start && minute < q.end : q.start > q.end && (minute >= q.start || minute < q.end);

  it('plans steps sorted by time, never before the knock, never in quiet hours, only verified channels once each', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const steps = planForward(toPlanInput(input));
        if (input.settings.paused) {
          expect(steps).toEqual([]);
          return;
        }
        const verified = new Set(input.channels.filter((c) => c.verified).map((c) => c.id));
        expect(new Set(steps.map((s) => s.channelId)).size).toBe(steps.length);
        steps.forEach((step, i) => {
          expect(verified.has(step.channelId)).toBe(true);
          expect(step.at).toBeGreaterThanOrEqual(i === 0 ? input.knockAt : steps[i - 1]!.at);
          const q = input.settings.quietHours;
          if (q !== null) expect(inQuiet(localMinute(step.at, input.settings.timeZone), q)).toBe(false);
        });
      }),
    );
  });

  it('without quiet hours or presence, puts each step at the knock plus the largest delay so far in the order', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const settings = { ...input.settings, paused: false, quietHours: null };
        const steps = planForward({ ...toPlanInput(input), settings, presenceOf: () => 'unknown' });
        const ordered = input.channels.filter((c) => c.verified).sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
        let latest = 0;
        expect(steps).toEqual(
          ordered.map((c) => ((latest = Math.max(latest, c.delayMs)), { channelId: c.id, kind: c.kind, at: input.knockAt + latest })),
        );
      }),
    );
  });

  it('moves an instant in quiet hours to the first instant after them, and no further', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        fc.record({ start: fc.nat(1439), end: fc.nat(1439) }),
        fc.constantFrom(...zones),
        (at, span, zone) => {
          const quiet = new QuietHours(span, zone);
          const next = quiet.nextAllowed(at);
          expect(next).toBeGreaterThanOrEqual(at);
          // A day and a minute, or two when a DST jump swallows the only allowed minutes of a day.
          expect(next - at).toBeLessThanOrEqual(49 * HOUR);
          expect(quiet.contains(next)).toBe(false);
          if (next > at) expect(quiet.contains(next - 1)).toBe(true);
        },
      ),
    );
  });
});

describe('routeNewMessage: batching', () => {
  const t0 = Date.UTC(2024, 0, 10, 12);
  const forward = (sent: Array<number | null>, closedAt: number | null = null): PendingForward => ({
    conversationId: 'c1',
    steps: sent.map((sentAt, i) => ({ channelId: `ch${i}`, kind: 'email' as const, at: t0 + i * 2 * MIN, sentAt })),
    closedAt,
  });

  it('starts a forward at the message when nothing is pending', () => {
    expect(routeNewMessage(null, 'c1', t0)).toEqual({ kind: 'start', knockAt: t0 });
  });

  it('joins the pending forward while one of its steps is still to be sent', () => {
    expect(routeNewMessage(forward([t0, null]), 'c1', t0 + 30_000)).toEqual({ kind: 'join' });
    expect(routeNewMessage(forward([null, null]), 'c1', t0 + 5 * MIN)).toEqual({ kind: 'join' }); // overdue, not sent
  });

  it('does not join another conversation’s forward, nor a closed one', () => {
    expect(routeNewMessage(forward([t0, null]), 'c2', t0 + 1)).toEqual({ kind: 'start', knockAt: t0 + 1 });
    expect(routeNewMessage(forward([t0, null], t0 + 1), 'c1', t0 + 2)).toEqual({ kind: 'start', knockAt: t0 + 2 });
  });

  it('after the last step went, gathers what comes in its window into a forward that starts when the window ends', () => {
    const lastSent = t0 + 2 * MIN;
    const done = forward([t0, lastSent]);
    expect(routeNewMessage(done, 'c1', lastSent + 10_000)).toEqual({ kind: 'start', knockAt: lastSent + FOLLOW_UP_WINDOW_MS });
    expect(routeNewMessage(done, 'c1', lastSent + 5 * MIN)).toEqual({ kind: 'start', knockAt: lastSent + 5 * MIN });
    expect(routeNewMessage(done, 'c1', lastSent + 10_000, 0)).toEqual({ kind: 'start', knockAt: lastSent + 10_000 });
  });
});

describe('closeForward: cancellation', () => {
  const t0 = Date.UTC(2024, 0, 10, 12);
  const pending: PendingForward = {
    conversationId: 'c1',
    steps: [
      { channelId: 'x', kind: 'xmpp', at: t0, sentAt: t0 + 50 },
      { channelId: 'e', kind: 'email', at: t0 + 2 * MIN, sentAt: null },
      { channelId: 's', kind: 'sms', at: t0 + 10 * MIN, sentAt: null },
    ],
    closedAt: null,
  };

  it('cancels every step not yet sent when the owner answers at the URL, and closes the forward', () => {
    const { cancelled, forward } = closeForward(pending, t0 + MIN);
    expect(cancelled.map((s) => s.channelId)).toEqual(['e', 's']);
    expect(forward.closedAt).toBe(t0 + MIN);
  });

  it('cancels a step that is due but still unsent when the owner comes online at the URL', () => {
    const { cancelled } = closeForward(pending, t0 + 3 * MIN); // email was due at +2 and has not gone
    expect(cancelled.map((s) => s.channelId)).toEqual(['e', 's']);
  });

  it('cancels nothing a second time, and the next message starts a new forward', () => {
    const { forward } = closeForward(pending, t0 + MIN);
    expect(closeForward(forward, t0 + 2 * MIN).cancelled).toEqual([]);
    expect(routeNewMessage(forward, 'c1', t0 + 4 * MIN)).toEqual({ kind: 'start', knockAt: t0 + 4 * MIN });
  });
});

describe('routeReply: which conversation a reply is for', () => {
  const open: ForwardSent[] = [
    { conversationId: 'anna', tag: '#1', channelId: 'sms1', threadId: null, sentAt: 100 },
    { conversationId: 'bob', tag: '#3', channelId: 'sms1', threadId: null, sentAt: 200 },
    { conversationId: 'anna', tag: '#1', channelId: 'xmpp1', threadId: 'th-anna', sentAt: 150 },
    { conversationId: 'carl', tag: '#2', channelId: 'xmpp1', threadId: 'th-carl', sentAt: 300 },
  ];
  const reply = (text: string, channelId = 'sms1', threadId: string | null = null) =>
    routeReply({ channelId, threadId, text, open });

  it('follows a leading tag and strips it: "#1 hi", "#1: hi", and "#01 hi" is #1', () => {
    const toAnna = { kind: 'conversation', conversationId: 'anna', text: 'hi', by: 'tag' };
    expect(reply('#1 hi')).toEqual(toAnna);
    expect(reply('#1: hi')).toEqual(toAnna);
    expect(reply('  #01 hi')).toEqual(toAnna);
    expect(reply('#2 hi', 'sms1')).toEqual({ ...toAnna, conversationId: 'carl' }); // tags span the owner's channels
  });

  it('takes "#x hi", "#1hi" and a tag later in the text as plain text for the conversation forwarded last', () => {
    for (const text of ['#x hi', '#1hi', 'see #1 later']) {
      expect(reply(text)).toEqual({ kind: 'conversation', conversationId: 'bob', text, by: 'lastForwarded' });
    }
  });

  it('refuses a tag that names no open forward instead of guessing', () => {
    expect(reply('#7 hi')).toEqual({ kind: 'unknownTag', tag: '#7' });
    expect(reply('#007 hi')).toEqual({ kind: 'unknownTag', tag: '#7' });
  });

  it('follows the XMPP thread when there is no tag, else the conversation forwarded last on that channel', () => {
    expect(reply('hi', 'xmpp1', 'th-anna')).toMatchObject({ conversationId: 'anna', by: 'thread' });
    expect(reply('hi', 'xmpp1', 'th-unknown')).toMatchObject({ conversationId: 'carl', by: 'lastForwarded' });
    expect(reply('hi', 'xmpp1')).toMatchObject({ conversationId: 'carl', by: 'lastForwarded' });
    expect(reply('hi', 'sms1')).toMatchObject({ conversationId: 'bob', by: 'lastForwarded' });
  });

  it('posts nothing for a tag alone or a blank reply', () => {
    expect(reply('#1')).toEqual({ kind: 'empty' });
    expect(reply('#1:  ')).toEqual({ kind: 'empty' });
    expect(reply(' \n')).toEqual({ kind: 'empty' });
  });

  it('says nothing is open when no forward went to that channel', () => {
    expect(reply('hi', 'webhook1')).toEqual({ kind: 'noOpenForward' });
  });
});

describe('allocateTag', () => {
  it('gives #1 first, then the smallest number no open forward holds, reused after a forward closes', () => {
    expect(allocateTag([])).toBe('#1');
    expect(allocateTag(['#1', '#2'])).toBe('#3');
    expect(allocateTag(['#1', '#3'])).toBe('#2'); // #2's forward closed
  });

  it('never gives a tag an open forward holds, and stays short', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }), (numbers) => {
        const open = numbers.map((n) => `#${n}`);
        const tag = allocateTag(open);
        expect(open).not.toContain(tag);
        expect(Number(tag.slice(1))).toBeLessThanOrEqual(open.length + 1);
      }),
    );
  });
});
