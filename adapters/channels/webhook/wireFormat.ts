/**
 * What goes over the wire between Knock and an owner's webhook receiver, as zod schemas (CONVENTIONS 3): the types
 * are inferred from them, and the saved samples (samples/*.json) are checked against them by the tests, so the README
 * cannot drift from the code.
 */
import { z } from 'zod';

/** A knock (or messages gathered after it) forwarded to the owner's URL. */
export const forwardPayload = z.object({
  type: z.literal('knock.forward'),
  conversationId: z.string(),
  /** The short tag of the conversation among the owner's open forwards (`#3`); a reply may name it instead of the id. */
  tag: z.string(),
  visitor: z.object({ name: z.string() }),
  /** The visitor's messages in this forward, oldest first. */
  texts: z.array(z.string()),
  /** The conversation in Knock's console. */
  link: z.string(),
  /** Where the receiver POSTs the owner's answer (signed the same way). */
  replyUrl: z.string(),
});
export type ForwardPayload = z.infer<typeof forwardPayload>;

/** The signed test call made when the owner adds the webhook: the code is typed back in Settings (or echoed). */
export const verifyPayload = z.object({
  type: z.literal('knock.verify'),
  channelId: z.string(),
  code: z.string(),
  replyUrl: z.string(),
});
export type VerifyPayload = z.infer<typeof verifyPayload>;

/** The longest reply text taken from a bot, in characters (a chat message, not a document). */
export const MAX_REPLY_TEXT = 16_000;

/** What the owner's bot POSTs to `/_/api/channels/<id>/reply`. */
export const replyPayload = z
  .object({
    /** The conversation answered, as the forward named it; without it (and without tag) the last one forwarded. */
    conversationId: z.string().min(1, 'conversationId, when given, must not be empty.').max(200, 'conversationId is at most 200 characters.').optional(),
    /** The conversation's short tag (`#3` or `3`), an alternative to conversationId. */
    tag: z.string().min(1, 'tag, when given, must not be empty.').max(32, 'tag is at most 32 characters.').optional(),
    text: z
      .string({ error: 'text is required: the answer, as a string.' })
      .min(1, 'text must not be empty.')
      .max(MAX_REPLY_TEXT, `text is at most ${MAX_REPLY_TEXT} characters.`),
    /** The bot's own id of this reply (its chat service's message id): a reply sent twice lands once. */
    id: z
      .string({ error: 'id is required: your own id of this reply (e.g. the chat message id), so a retry is not posted twice.' })
      .min(1, 'id must not be empty.')
      .max(200, 'id is at most 200 characters.'),
  })
  .strict();
export type ReplyPayload = z.infer<typeof replyPayload>;
