/**
 * A message with files in the browser SDK (client/src/sdk/conversationSession.ts) before any server answers: shown at
 * once as pending with its files, kept in the outbox with them across a reload (the resend names the same files under
 * the same clientMsgId), and refused at once when it carries nothing. No server runs: the session's socket keeps
 * failing to connect, which is what a page offline sees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FileRef } from '../../engine/protocol.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { ConversationSession } from '../../client/src/sdk/conversationSession.ts';

/** Nothing listens on the discard port: joins fail and are retried, as when offline. */
const UNREACHABLE = 'http://127.0.0.1:9';
const photo: FileRef = { id: 'file-photo-01', name: 'photo.jpg', size: 123_456, type: 'image/jpeg', image: { width: 800, height: 600 } };
const pdf: FileRef = { id: 'file-pdf-0001', name: 'plan.pdf', size: 2048, type: 'application/pdf', image: null };
const opened: ConversationSession[] = [];

function open(store: ReturnType<typeof memoryStore>): ConversationSession {
  const session = ConversationSession.open({ endpoint: UNREACHABLE, conversationId: 'conv-1', token: 'visitor-token-0123456789', store });
  opened.push(session);
  return session;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('ConversationSession sending files', () => {
  it('shows a message with files as pending at once, and after a reload still holds it with the same files and clientMsgId', async () => {
    const store = memoryStore();
    const first = open(store);
    const clientMsgId = first.send('The plan', [pdf, photo]);
    expect(first.snapshot().messages).toEqual([
      expect.objectContaining({ key: clientMsgId, status: 'pending', body: 'The plan', event: { kind: 'file', files: [pdf, photo] } }),
    ]);
    await first.close();

    const reloaded = open(store);
    expect(reloaded.snapshot().messages).toEqual([
      expect.objectContaining({ key: clientMsgId, status: 'pending', body: 'The plan', event: { kind: 'file', files: [pdf, photo] } }),
    ]);
  });

  it('sends files without text, and refuses a message with neither at once', () => {
    const session = open(memoryStore());
    session.send('', [photo]);
    session.send('   ');
    expect(session.snapshot().messages.map((m) => [m.status, m.event.kind, m.error])).toEqual([
      ['pending', 'file', undefined],
      ['failed', 'text', 'The message is empty.'],
    ]);
  });
});
