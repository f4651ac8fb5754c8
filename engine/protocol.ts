/**
 * The wire protocol of Knock: every message between browser and server, as zod schemas (CONVENTIONS 3).
 * Server and browser bundle import this one module; the TypeScript types are inferred from the schemas.
 * Nothing here may import Node-only code: the browser bundle includes this file.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------
// Limits every side must agree on.
export const limits = {
  /** Longest message text, in characters (UTF-16 code units). Matrix allows 65 KB events, Slack 40k characters. */
  bodyChars: 16_000,
  /** Longest display name a visitor may give. */
  nameChars: 64,
  /** Most messages returned by one sync or history request. */
  pageSize: 100,
} as const;

/** A lone UTF-16 surrogate cannot be stored as UTF-8: refuse it at the door rather than store something else. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

export const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/;
/** Handles that would shadow files browsers and crawlers ask for at the root. */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  'favicon.ico', 'robots.txt', 'sitemap.xml', 'humans.txt', 'security.txt', 'manifest.json',
  'apple-touch-icon.png', 'apple-touch-icon-precomposed.png', 'browserconfig.xml', 'ads.txt',
]);

export const handleSchema = z
  .string()
  .regex(HANDLE_PATTERN, {
    message: 'A handle is 2 to 32 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or a digit.',
  })
  .refine((h) => !RESERVED_HANDLES.has(h), { message: 'This handle is reserved.' });

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, { message: 'The name cannot be empty.' })
  .max(limits.nameChars, { message: `The name is too long (at most ${limits.nameChars} characters).` })
  .refine(wellFormed, { message: 'The name contains broken characters.' });

export const passwordSchema = z
  .string()
  .min(8, { message: 'The password needs at least 8 characters.' })
  .max(1024, { message: 'The password is too long.' });

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const id = z.string().min(1).max(64);
export const clientMsgIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'clientMsgId must be 8 to 64 letters, digits, "_" or "-".' });

export const roleSchema = z.enum(['owner', 'visitor']);
export type Role = z.infer<typeof roleSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Records carried inside messages.
export const messageRecord = z.object({
  seq,
  senderId: id,
  senderRole: roleSchema,
  senderName: z.string(),
  body: z.string(),
  /** Server time of storage, milliseconds since the epoch. */
  at: z.number(),
  clientMsgId: z.string(),
});
export type MessageRecord = z.infer<typeof messageRecord>;

export const participantRecord = z.object({
  id,
  role: roleSchema,
  name: z.string(),
  deliveredSeq: seq,
  readSeq: seq,
});
export type ParticipantRecord = z.infer<typeof participantRecord>;

export const conversationSummary = z.object({
  id,
  visitorName: z.string(),
  lastSeq: seq,
  lastMessage: z.object({ body: z.string(), at: z.number(), senderRole: roleSchema }).nullable(),
  /** Messages from the visitor the owner has not read yet. */
  unread: seq,
  /** Last activity, milliseconds since the epoch: the list is ordered by it, newest first. */
  updatedAt: z.number(),
});
export type ConversationSummary = z.infer<typeof conversationSummary>;

export const errorPayload = z.object({
  code: z.string(),
  message: z.string(),
  /** The clientMsgId or message type the error answers, when there is one. */
  ref: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorPayload = z.infer<typeof errorPayload>;

// ---------------------------------------------------------------------------------------------------------------
// Join options.
export const userJoinOptions = z.object({ handle: handleSchema });
export type UserJoinOptions = z.infer<typeof userJoinOptions>;

export const conversationJoinOptions = z.object({
  conversationId: id,
  /** The visitor's conversation token (from the cookie or the resume link); owners use their session instead. */
  token: z.string().min(16).max(128).optional(),
  /** The last seq this client holds; the server sends what follows. Absent: the newest page. */
  since: seq.optional(),
});
export type ConversationJoinOptions = z.infer<typeof conversationJoinOptions>;

// ---------------------------------------------------------------------------------------------------------------
// Client -> ConversationRoom.
export const conversationClientMessages = {
  send: z.object({
    clientMsgId: clientMsgIdSchema,
    body: z
      .string()
      .max(limits.bodyChars, { message: `The message is too long (at most ${limits.bodyChars} characters).` })
      .refine((s) => s.trim().length > 0, { message: 'The message is empty.' })
      .refine(wellFormed, { message: 'The message contains broken characters.' }),
  }),
  /** Ask for messages after a seq (catch-up and gap repair). */
  sync: z.object({ afterSeq: seq, limit: z.number().int().min(1).max(limits.pageSize).optional() }),
  /** Ask for older messages (scrolling up). */
  history: z.object({ beforeSeq: seq.min(1), limit: z.number().int().min(1).max(limits.pageSize).optional() }),
  typing: z.object({ active: z.boolean() }),
  receipt: z.object({ kind: z.enum(['delivered', 'read']), seq }),
  rename: z.object({ name: displayNameSchema }),
} as const;
export type ConversationClientMessages = { [K in keyof typeof conversationClientMessages]: z.infer<(typeof conversationClientMessages)[K]> };

// Server -> ConversationRoom client.
export const conversationServerMessages = {
  welcome: z.object({
    conversation: z.object({ id, ownerHandle: z.string(), ownerName: z.string() }),
    me: z.object({ participantId: id, role: roleSchema }),
    participants: z.array(participantRecord),
    ownerOnline: z.boolean(),
    lastSeq: seq,
  }),
  /** Messages after `afterSeq`, in order; `more` says another sync is needed to catch up. */
  messages: z.object({ afterSeq: seq, items: z.array(messageRecord), more: z.boolean() }),
  /** Older messages before `beforeSeq`, in order; `more` says there are older ones still. */
  history: z.object({ beforeSeq: seq, items: z.array(messageRecord), more: z.boolean() }),
  message: messageRecord,
  ack: z.object({ clientMsgId: z.string(), seq, at: z.number() }),
  typing: z.object({ participantId: id, name: z.string(), active: z.boolean() }),
  receipt: z.object({ participantId: id, kind: z.enum(['delivered', 'read']), seq }),
  participant: participantRecord,
  presence: z.object({ online: z.boolean() }),
  error: errorPayload,
} as const;
export type ConversationServerMessages = { [K in keyof typeof conversationServerMessages]: z.infer<(typeof conversationServerMessages)[K]> };

// ---------------------------------------------------------------------------------------------------------------
// Client -> UserRoom: nothing yet; knocks go over HTTP (they set the visitor's cookie).
export const userClientMessages = {} as const;

// Server -> UserRoom client.
export const userServerMessages = {
  welcome: z.discriminatedUnion('role', [
    z.object({
      role: z.literal('owner'),
      account: z.object({ handle: z.string(), displayName: z.string() }),
      conversations: z.array(conversationSummary),
      online: z.boolean(),
    }),
    z.object({
      role: z.literal('visitor'),
      owner: z.object({ handle: z.string(), displayName: z.string() }),
      online: z.boolean(),
    }),
  ]),
  /** A new or changed conversation (owner devices only). */
  conversation: conversationSummary,
  presence: z.object({ online: z.boolean() }),
  error: errorPayload,
} as const;
export type UserServerMessages = { [K in keyof typeof userServerMessages]: z.infer<(typeof userServerMessages)[K]> };

// ---------------------------------------------------------------------------------------------------------------
// HTTP API bodies and answers.
export const loginBody = z.object({ handle: handleSchema, password: z.string().min(1).max(1024) });
export const signupBody = z.object({ handle: handleSchema, displayName: displayNameSchema, password: passwordSchema });
export const knockBody = z.object({ name: displayNameSchema.optional() });

export const profileAnswer = z.object({
  handle: z.string(),
  displayName: z.string(),
  online: z.boolean(),
  /** The signed-in account, if any; `isOwner` when it owns this URL. */
  viewer: z.object({ handle: z.string(), displayName: z.string() }).nullable(),
  isOwner: z.boolean(),
  /** The visitor's own conversation with this owner (from the cookie or the resume link), if any. */
  conversation: z.object({ id, token: z.string(), resumePath: z.string(), visitorName: z.string() }).nullable(),
});
export type ProfileAnswer = z.infer<typeof profileAnswer>;

export const knockAnswer = z.object({ conversationId: id, token: z.string(), resumePath: z.string() });
export type KnockAnswer = z.infer<typeof knockAnswer>;

/** Turns a zod failure into one sentence a person can read (CONVENTIONS 3). */
export function describeIssues(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'The request is not valid.';
  const where = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return `${where}${first.message}`;
}
