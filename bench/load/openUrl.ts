/**
 * A visitor opening someone's URL, timed the way a person feels it (client/src/views/VisitorPage.tsx):
 * 1. open to ready: GET /<handle> (the page), GET /_/api/profile/<handle>, join the owner's UserRoom and receive its
 *    welcome (name and presence shown, the composer usable). The JavaScript bundle is not fetched: a browser caches it.
 * 2. first message: the first Send knocks (POST), joins the new ConversationRoom, receives the catch-up, sends the
 *    message and gets its ack ("sent").
 */
import { Histogram } from '../lib/histogram.ts';
import { join, leave, nextMessage, type Clients } from './connections.ts';

export interface OpenUrlTimes {
  openToReadyMs: number;
  knockToFirstAckMs: number;
}

export async function openUrlOnce(endpoint: string, handle: string, clients: Clients, n: number, timeoutMs: number): Promise<OpenUrlTimes> {
  const t0 = performance.now();
  const page = await fetch(`${endpoint}/${handle}`, { signal: AbortSignal.timeout(timeoutMs) });
  await page.text();
  if (page.status !== 200) throw new Error(`GET /${handle}: HTTP ${page.status}`);
  const profile = await fetch(`${endpoint}/_/api/profile/${handle}`, { signal: AbortSignal.timeout(timeoutMs) });
  await profile.json();
  if (profile.status !== 200) throw new Error(`GET profile of /${handle}: HTTP ${profile.status}`);
  const client = clients.visitor(endpoint);
  const presence = await join(client, 'user', { handle }, timeoutMs);
  try {
    await nextMessage(presence, 'welcome', timeoutMs);
    const ready = performance.now();

    const knock = await fetch(`${endpoint}/_/api/u/${handle}/knock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (knock.status !== 201) throw new Error(`knock on /${handle}: HTTP ${knock.status} ${await knock.text()}`);
    const { conversationId, token } = (await knock.json()) as { conversationId: string; token: string };
    const conversation = await join(client, 'conversation', { conversationId, token }, timeoutMs);
    try {
      await nextMessage(conversation, 'messages', timeoutMs);
      const clientMsgId = `open${n.toString(36).padStart(8, '0')}`;
      const acked = nextMessage(conversation, 'ack', timeoutMs);
      conversation.send('send', { clientMsgId, body: 'Hello, are you there?' });
      await acked;
      return { openToReadyMs: ready - t0, knockToFirstAckMs: performance.now() - ready };
    } finally {
      await leave(conversation);
    }
  } finally {
    await leave(presence);
  }
}

export class OpenUrlRecorder {
  readonly openToReady = new Histogram();
  readonly knockToFirstAck = new Histogram();

  add(times: OpenUrlTimes): void {
    this.openToReady.record(times.openToReadyMs);
    this.knockToFirstAck.record(times.knockToFirstAckMs);
  }
}
