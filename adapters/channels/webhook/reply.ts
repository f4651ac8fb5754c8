/**
 * A reply from the owner's bot (`POST /_/api/channels/<id>/reply`), read from the raw body once its signature was
 * checked (signature.ts): JSON, then the schema of wireFormat.ts, each failure said in words a bot's author can act on.
 *
 * @example
 *   const check = verifySignature(secrets, req.headers, rawBody, clock.now());
 *   if (!check.ok) throw new KnockError('unauthorized', check.message);
 *   const reply = parseReply(channel.id, rawBody); // throws ReplyParseError
 *   await forwarding.receiveReply(reply);
 */
import type { ChannelReply } from '../../../engine/ports/channel.ts';
import { replyPayload } from './wireFormat.ts';

/** A reply body that is not what the wire format says; `message` names what to fix. */
export class ReplyParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyParseError';
  }
}

/** The conversationId or tag a reply names, and its text, as a ChannelReply of `channelId` (externalId `webhook:<id>`). */
export function parseReply(channelId: string, rawBody: string | Uint8Array): ChannelReply {
  const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ReplyParseError('The body is not JSON: send {"id": "...", "text": "..."} with Content-Type: application/json.');
  }
  const parsed = replyPayload.safeParse(json);
  if (!parsed.success) {
    throw new ReplyParseError(parsed.error.issues.map((issue) => issueText(issue)).join(' '));
  }
  const reply = parsed.data;
  return {
    channelId,
    conversationId: reply.conversationId ?? null,
    tag: reply.tag ?? null,
    text: reply.text,
    externalId: `webhook:${reply.id}`,
  };
}

function issueText(issue: { code: string; path: PropertyKey[]; message: string; keys?: string[] }): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return `Unknown field(s) ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')}: a reply has id, text, and optionally conversationId or tag.`;
  }
  if (field === '') return 'The body must be a JSON object: {"id": "...", "text": "..."}.';
  // The schema's own messages name their field; zod's defaults ("Invalid input: expected string") do not.
  return issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}.`;
}
