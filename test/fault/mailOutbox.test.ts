/**
 * Fault (issue 17, "Done when 2"): Knock is killed (SIGKILL, no shutdown code) while the owner's replies wait in the
 * outbox because the relay keeps answering 451. After the restart the relay accepts, and each reply arrives exactly
 * once, with the Message-ID it was offered with before the crash (so even a receiver that saw an earlier copy would
 * know it for the same mail).
 */
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { afterEach, expect, it } from 'vitest';
import { Person, waitFor } from '../support/clients.ts';
import { KnockProcess, freePort } from '../support/knockProcess.ts';
import { MailSink } from '../support/mailSink.ts';

const DOMAIN = 'example.test';
const REPLIES = ['First answer', 'Second answer', 'Third answer'];

let knock: KnockProcess | null = null;
let sink: MailSink | null = null;
afterEach(async () => {
  await knock?.dispose();
  await sink?.close();
  knock = null;
  sink = null;
});

it('delivers every queued reply exactly once after a SIGKILL, with the same Message-ID', async () => {
  sink = await MailSink.start();
  sink.answer([], '451 4.3.0 Not now');
  const smtpPort = await freePort();
  knock = await KnockProcess.create({
    env: {
      KNOCK_SMTP_PORT: String(smtpPort),
      KNOCK_SMTP_HOST: '127.0.0.1',
      KNOCK_MAIL_DOMAIN: DOMAIN,
      KNOCK_SMTP_RELAY_URL: sink.url,
      KNOCK_OUTBOX_RETRY_BASE_MS: '200',
      KNOCK_OUTBOX_POLL_MS: '100',
      // A reply being sent when the process dies is taken over once its lease runs out.
      KNOCK_OUTBOX_LEASE_MS: '2000',
    },
  });
  await knock.addUser('alice', 'Alice');
  await knock.start();

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  await transport.sendMail({ from: 'Bob <bob@sender.test>', to: `alice@${DOMAIN}`, subject: 'Crash course', text: 'Hi', messageId: '<crash-1@sender.test>' });
  transport.close();

  const owner = new Person(knock.url);
  await owner.login('alice');
  const inbox = owner.ownerSession('alice');
  const listed = await waitFor(inbox, (s) => s.conversations.some((c) => c.subject === 'Crash course'), 'the email conversation in the list', 15_000);
  const conversationId = listed.conversations.find((c) => c.subject === 'Crash course')!.id;
  const session = owner.conversation(conversationId);
  for (const body of REPLIES) session.send(body);
  await waitFor(session, (s) => REPLIES.every((body) => s.messages.some((m) => m.body === body && m.seq !== null)), 'the replies stored');
  // Every reply was offered to the relay and refused at least once: all three wait in the outbox.
  const offeredBefore = await (async () => {
    for (;;) {
      const ids = new Set(sink!.offered);
      if (ids.size >= REPLIES.length) return ids;
      await sink!.attemptsReach(sink!.attempts + 1);
    }
  })();
  await owner.closeAll();

  await knock.kill();
  sink.answer([]);
  await knock.start();

  const delivered = await Promise.all(REPLIES.map((body) => sink!.next((m) => m.parsed.text?.includes(body) ?? false, 30_000)));
  for (const mail of delivered) expect(offeredBefore.has(mail.messageId)).toBe(true);
  // Stop, then read the outbox itself: every job sent, none left to send again.
  await knock.stop();
  const db = new Database(knock.dbFile, { readonly: true });
  try {
    const states = db.prepare("SELECT state FROM outbox_jobs WHERE kind = 'mail.reply'").all() as Array<{ state: string }>;
    expect(states.map((s) => s.state)).toEqual(['sent', 'sent', 'sent']);
  } finally {
    db.close();
  }
  for (const body of REPLIES) expect(sink.received.filter((m) => m.parsed.text?.includes(body))).toHaveLength(1);
});
