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
  /**
   * Longest SDP in one `call.signal`, in characters. Chrome's offer for audio + video is 6-8 KB, and each further
   * m-line (a screen share) about 3.5 KB; 32 KiB leaves room for more codecs and m-lines than a Knock call uses,
   * while one signal stays well inside the 64 KiB socket message limit (KNOCK_MAX_MESSAGE_BYTES).
   */
  sdpChars: 32 * 1024,
  /** Longest ICE candidate line. Real ones are 60-250 characters (an mDNS host name included). */
  candidateChars: 1024,
  /** Longest document title. */
  titleChars: 120,
  /**
   * Unread counts stop here: with this many messages or more after the owner's read mark a conversation shows
   * "99+", as phones' badges do, and counting it costs the same whether 100 or 100,000 wait.
   */
  unreadCap: 100,
  /** Most files one message may carry, whatever KNOCK_MAX_FILES_PER_MESSAGE says (it may set fewer). */
  filesPerMessage: 50,
  /** Longest file name kept, in characters; longer names are cut (the extension kept). */
  fileNameChars: 255,
  /** Longest search query. */
  searchChars: 200,
  /** Longest email subject kept, in characters (RFC 5322 allows more; mail clients show far less). */
  subjectChars: 998,
  /** Most attachments of one email kept (a mail with more keeps the first, and its body says how many were left). */
  filesPerEmail: 50,
  /** Longest page address a widget reports (browsers keep longer ones; analytics tools cut at about this). */
  pageUrlChars: 2048,
  /** Longest page title kept. */
  pageTitleChars: 300,
} as const;

/** A lone UTF-16 surrogate cannot be stored as UTF-8: refuse it at the door rather than store something else. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

/**
 * Where colyseus.js clients are pointed (`new Client(origin + ROOMS_PATH)`): they ask for seats at
 * `<origin>/_/matchmake/joinOrCreate/<room type>` and, when the room's process has no public address of its own,
 * open its socket at `<origin>/_/<processId>/<roomId>`. Under `/_/`, like everything of the system, so no handle
 * can shadow it.
 */
export const ROOMS_PATH = '/_';
export const MATCHMAKE_PREFIX = `${ROOMS_PATH}/matchmake/`;

export const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/;
/**
 * Handles that would shadow files browsers and crawlers ask for at the root, and the mailboxes every mail domain
 * has for its operators (RFC 2142) or that Knock sends from: `postmaster@` must never be a stranger's URL.
 */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  'favicon.ico', 'robots.txt', 'sitemap.xml', 'humans.txt', 'security.txt', 'manifest.json',
  'apple-touch-icon.png', 'apple-touch-icon-precomposed.png', 'browserconfig.xml', 'ads.txt',
  'postmaster', 'abuse', 'hostmaster', 'webmaster', 'mailer-daemon', 'no-reply', 'noreply', 'knock',
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

export const documentTitleSchema = z
  .string()
  .trim()
  .min(1, { message: 'The title cannot be empty.' })
  .max(limits.titleChars, { message: `The title is too long (at most ${limits.titleChars} characters).` })
  .refine(wellFormed, { message: 'The title contains broken characters.' });

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
  /** Messages from the visitor the owner has not read yet, counted up to `limits.unreadCap` (shown as "99+"). */
  unread: seq,
  /** Last activity, milliseconds since the epoch: the list is ordered by it, newest first. */
  updatedAt: z.number(),
  /** Hidden from the default list until new activity (the owner pressed "Archive"). Absent from older servers. */
  archived: z.boolean().optional(),
  /** The owner pressed "Mark as unread": shown unread (at least 1) until the owner reads it again. */
  markedUnread: z.boolean().optional(),
  /** How many files its messages carry. */
  files: seq.optional(),
  /** The address the visitor left for answers by email, if any (the owner's eyes only). */
  visitorEmail: z.string().nullable().optional(),
  /** `email`: a thread of mail (it came in by email, or the owner pressed "New email"); `chat` otherwise. Absent: chat. */
  kind: z.enum(['chat', 'email']).optional(),
  /** An email conversation's subject (the list shows it). */
  subject: z.string().nullable().optional(),
  /** Its mail failed DMARC: hidden from every list but `suspicious` (search still finds it). */
  suspicious: z.boolean().optional(),
  /** Issue 19: the page of the company's site the chat was started on (the widget tells). */
  startedOn: z.object({ url: z.string(), title: z.string() }).nullable().optional(),
  /**
   * Issue 20: a conversation with a phone by SMS (the owner's eyes only: everyone else reads the masked name): the
   * number, as stored and as shown; whether it texted Knock's service number or the owner's own number (replies leave
   * from it); and whether it texted STOP (replies are not sent).
   */
  sms: z.object({ phone: z.string(), shown: z.string(), via: z.enum(['service', 'number']), stopped: z.boolean() }).nullable().optional(),
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

/**
 * WebSocket close codes of Knock (4000-4999 is the application range). Here, not in engine/errors.ts, because the
 * browser reads them too (a socket closed as logged out ends the session for good) and may import only this module;
 * errors.ts re-exports them for the server.
 */
export const CloseCode = {
  /** The session ended (log out) or was revoked. */
  loggedOut: 4001,
  /** The join was refused: no such conversation, or not a member. */
  forbidden: 4003,
  /** The room closed on purpose (e.g. account removed). */
  gone: 4004,
  /** The server is restarting; reconnect. */
  restarting: 4005,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Calls (DESIGN "calls"): signalling through the ConversationRoom. A *device* is one connection to the room (its
// Colyseus session id): an owner with two tabs has two devices, and signalling addresses devices, not people.
// WebRTC convention: a device that enters a call (accept, join) sends the offers to the members already in it;
// members already in the call answer. Media is peer-to-peer (2 members: `p2p`; 3 or 4 without a conference server:
// `mesh`) or goes through an SFU (`sfu`, from the third member when the server has one), as `call.ticket` says.
export const callIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'callId is not valid.' });
export const callKindSchema = z.enum(['audio', 'video']);
export type CallKind = z.infer<typeof callKindSchema>;
export const callModeSchema = z.enum(['p2p', 'mesh', 'sfu']);
export type CallMode = z.infer<typeof callModeSchema>;
/** `completed`: answered, then hung up; `missed`: nobody answered in time; `cancelled`: the caller hung up first. */
export const callEndReasonSchema = z.enum(['completed', 'missed', 'declined', 'cancelled']);
export type CallEndReason = z.infer<typeof callEndReasonSchema>;

/** Text other than the line breaks SDP is made of has no business in it. */
const CONTROL_CHARS = /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F]/;
export const sessionDescriptionSchema = z.object({
  type: z.enum(['offer', 'answer'], { message: 'description.type must be "offer" or "answer".' }),
  sdp: z
    .string()
    .max(limits.sdpChars, { message: `The SDP is too large (at most ${limits.sdpChars} characters).` })
    .refine((s) => /^v=0\r?\n/.test(s), { message: 'The SDP must start with "v=0".' })
    .refine((s) => !CONTROL_CHARS.test(s) && wellFormed(s), { message: 'The SDP contains characters SDP cannot hold.' }),
});
export type SessionDescription = z.infer<typeof sessionDescriptionSchema>;

export const iceCandidateSchema = z.object({
  /** An `a=candidate` line without `a=`, or '' (end of candidates). */
  candidate: z
    .string()
    .max(limits.candidateChars, { message: `The ICE candidate is too long (at most ${limits.candidateChars} characters).` })
    .refine((c) => c === '' || (c.startsWith('candidate:') && !CONTROL_CHARS.test(c) && !/[\r\n]/.test(c)), {
      message: 'An ICE candidate starts with "candidate:" and is one line.',
    }),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});
export type IceCandidate = z.infer<typeof iceCandidateSchema>;

/** An RTCIceServer as browsers take it; TURN entries carry credentials minted for one member, valid a short while. */
export const iceServerSchema = z.object({
  urls: z.array(z.string()),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;
/** RTCConfiguration.iceTransportPolicy: `relay` keeps every call on TURN relays (server config). */
export const iceTransportPolicySchema = z.enum(['all', 'relay']);
export type IceTransportPolicy = z.infer<typeof iceTransportPolicySchema>;

/**
 * What one member needs to reach a call's conference server (MediaRouter.issueJoin). `provider` names the SFU
 * (e.g. "janus"); the browser hands the rest to that provider's client code: rooms never look inside.
 */
export const sfuJoinSchema = z.object({
  provider: z.string(),
  /** Where the browser connects (e.g. Janus's WebSocket API). */
  url: z.string(),
  room: z.string(),
  /** This member's own pass into this room only. */
  token: z.string(),
  /** Provider-specific extras (Janus: `pin`, and `apiToken` when Janus requires signed tokens). */
  params: z.record(z.string(), z.string()),
  /** Milliseconds since the epoch after which a new join must be asked for (`call.join` again). */
  expiresAt: z.number(),
});
export type SfuJoin = z.infer<typeof sfuJoinSchema>;

export const callMemberSchema = z.object({
  deviceId: id,
  participantId: id,
  role: roleSchema,
  name: z.string(),
  /** `reconnecting`: the device dropped (a reload, a network change) and has a grace period to come back. */
  connection: z.enum(['connected', 'reconnecting']),
  joinedAt: z.number(),
  audio: z.boolean(),
  video: z.boolean(),
});
export type CallMember = z.infer<typeof callMemberSchema>;

export const callStateSchema = z.object({
  callId: callIdSchema,
  kind: callKindSchema,
  /** ringing: waiting for the other side; active: answered; ended: over (endReason says how). */
  status: z.enum(['ringing', 'active', 'ended']),
  mode: callModeSchema,
  /** The participant who called. */
  callerId: id,
  startedAt: z.number(),
  answeredAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  endReason: callEndReasonSchema.nullable(),
  /** When an unanswered call stops ringing. */
  ringUntil: z.number().nullable(),
  members: z.array(callMemberSchema),
  /** How many devices the call takes; a join beyond it gets a `call_full` error. */
  capacity: z.number().int(),
});
export type CallState = z.infer<typeof callStateSchema>;

const signalTarget = { callId: callIdSchema, to: id };
const signalBody = {
  description: sessionDescriptionSchema.optional(),
  candidate: iceCandidateSchema.optional(),
};
const exactlyOneSignal = (s: { description?: unknown; candidate?: unknown }) => (s.description === undefined) !== (s.candidate === undefined);
const oneSignalMessage = { message: 'A signal carries either a description or a candidate.' };

// ---------------------------------------------------------------------------------------------------------------
// Games (issue 6): invitations go through the ConversationRoom (and are recorded in the chat); play goes through a
// GameRoom per game. The kinds are those of games/ (games/types.ts gameKinds; this module stays free of games/).
export const gameKindSchema = z.enum(['connect4', 'chess', 'pong'], { message: 'The game must be "connect4", "chess" or "pong".' });
export type GameKindName = z.infer<typeof gameKindSchema>;
export const gameIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'gameId is not valid.' });
const seatSchema = z.union([z.literal(0), z.literal(1)]);
export const gameRecord = z.object({
  id: gameIdSchema,
  kind: gameKindSchema,
  /** invited: waiting for the other player; active: being played (join its GameRoom); declined / finished: over. */
  status: z.enum(['invited', 'declined', 'active', 'finished']),
  /** Participant ids by seat; seat 0 invited and moves first. */
  players: z.tuple([id, id]),
  winnerSeat: seatSchema.nullable(),
  reason: z.string().nullable(),
  createdAt: z.number(),
  endedAt: z.number().nullable(),
});
export type GameRecord = z.infer<typeof gameRecord>;
export const gameScoresSchema = z.object({
  /** Wins by participant id, over this conversation's finished games. */
  wins: z.record(z.string(), z.number().int()),
  draws: z.number().int(),
  /** The newest finished games, newest first. */
  recent: z.array(gameRecord),
});

// ---------------------------------------------------------------------------------------------------------------
// Conversation events (DESIGN "The conversation log"): what a conversation's history holds, each entered through
// the ConversationLog (engine/conversationLog.ts) whoever writes it. Every message has a `body` a person can read as
// plain text (for `text`, what was written; for the rest, the server's words: "Missed call", the document's title,
// "Connect Four: Vic won"), which is what a summary, an older client or a text-only channel shows, and a typed
// `event` that views switch on, exhaustively, never a prefix of an id. Room is kept for the kinds of channels to
// come (`file`, `email`, `sms`, `xmpp`): each adds a member here, and the compiler finds every view to extend.
const callEvent = z.object({
  kind: z.literal('call'),
  callId: callIdSchema,
  media: callKindSchema,
  reason: callEndReasonSchema,
  /** How long it lasted once answered; null when not known (calls recorded before events were typed). */
  durationMs: z.number().int().nonnegative().nullable(),
});
const gameAnswerSchema = z.enum(['accepted', 'declined', 'withdrawn']);
export const fileIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, { message: 'fileId is not valid.' });
/**
 * A file attached to a message, as every member sees it: downloaded at `/_/files/<id>/<name>`, and for images a
 * thumbnail at `/_/files/<id>/thumb` (made by the server, without EXIF). `name` is the uploader's file name made safe
 * (no path, no control or bidirectional-override characters); `type` the MIME type Knock decided, never trusted.
 */
export const fileRefSchema = z.object({
  id: fileIdSchema,
  name: z.string().min(1).max(limits.fileNameChars),
  size: z.number().int().nonnegative(),
  type: z.string().max(255),
  /** Set for images Knock could read (JPEG, PNG, WebP, GIF): their size in pixels, and a thumbnail exists. */
  image: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).nullable(),
});
export type FileRef = z.infer<typeof fileRefSchema>;
/**
 * The body of a message that carries files and no text: their names ("photo.jpg, report.pdf"), what a summary or a
 * text-only channel shows. Views show a `file` message's body only when it is something else (text someone wrote).
 */
export function fileMessageBody(files: readonly { name: string }[]): string {
  return files.map((f) => f.name).join(', ');
}
// -- email (issue 17) ---------------------------------------------------------------------------------------------
/** One result of SPF, DKIM, DMARC or ARC as `mailauth` reports it (`none`: the sender published nothing to check). */
export const mailAuthResultSchema = z.enum(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
export type MailAuthResult = z.infer<typeof mailAuthResultSchema>;
/** How a received email's sender was authenticated, shown as a badge; `suspicious` when it failed DMARC. */
export const emailAuthSchema = z.object({
  spf: mailAuthResultSchema,
  dkim: mailAuthResultSchema,
  dmarc: mailAuthResultSchema,
  arc: mailAuthResultSchema,
  /** Failed DMARC: the From domain says this mail is not theirs. Kept out of the default list (filter `suspicious`). */
  suspicious: z.boolean(),
});
export type EmailAuth = z.infer<typeof emailAuthSchema>;
export const emailAddressSchema = z.object({ address: z.string().max(254), name: z.string().max(256) });
export type EmailAddress = z.infer<typeof emailAddressSchema>;
const emailEvent = z.object({
  kind: z.literal('email'),
  subject: z.string().max(limits.subjectChars),
  from: emailAddressSchema,
  to: z.array(emailAddressSchema).max(100),
  /** Its Message-ID, without the angle brackets. */
  messageId: z.string().max(998),
  auth: emailAuthSchema,
  /** It has an HTML part (sanitized on arrival): the view offers it in a sandboxed frame. */
  html: z.boolean(),
  files: z.array(fileRefSchema).max(limits.filesPerEmail),
  /** Sent by a machine (Auto-Submitted, RFC 3834: an auto-reply, a notification): never answered automatically. */
  automatic: z.boolean().optional(),
});
export type EmailEvent = z.infer<typeof emailEvent>;

export const conversationEvent = z.discriminatedUnion('kind', [
  /** What a participant wrote (the body). */
  z.object({ kind: z.literal('text') }),
  /** A call ended: answered and how long, missed, declined. */
  callEvent,
  /** A shared document was created; its title is the body (its editor: rooms/doc). */
  z.object({ kind: z.literal('doc'), docId: id }),
  /** One side invited the other to a game. */
  z.object({ kind: z.literal('game.invite'), gameId: gameIdSchema, game: gameKindSchema }),
  /** The invitation was accepted, declined, or withdrawn by the inviter. */
  z.object({ kind: z.literal('game.answer'), gameId: gameIdSchema, game: gameKindSchema, answer: gameAnswerSchema }),
  /** A game ended (the body says who won and the score). */
  z.object({ kind: z.literal('game.result'), gameId: gameIdSchema, game: gameKindSchema, winnerSeat: seatSchema.nullable(), reason: z.string().nullable() }),
  /** A message with files (the body is its text, possibly empty; its plain-text form lists the files). */
  z.object({ kind: z.literal('file'), files: z.array(fileRefSchema).min(1).max(limits.filesPerMessage) }),
  /**
   * An email that came in (issue 17): the body is its text part (for a reply, with the quoted history cut), the
   * rest the envelope a mail client shows. Its HTML part, if any, is shown sanitized in a sandboxed frame
   * (`GET /_/api/conversations/<id>/emails/<seq>.html`); its attachments are files of the conversation.
   */
  emailEvent,
  /**
   * A text that came by SMS (issue 20): the body is its text. `via`: to Knock's service number (a phone without
   * internet naming the owner) or to the owner's own number (their phone is off: it was passed on to the phone too).
   */
  z.object({ kind: z.literal('sms'), via: z.enum(['service', 'number']) }),
  /** A note of the server's about the conversation (the body), shown apart from what people wrote. */
  z.object({ kind: z.literal('system') }),
]);
export type ConversationEvent = z.infer<typeof conversationEvent>;
export type ConversationEventKind = ConversationEvent['kind'];

export const messageRecord = z.object({
  seq,
  senderId: id,
  senderRole: roleSchema,
  senderName: z.string(),
  body: z.string(),
  /** Server time of storage, milliseconds since the epoch. */
  at: z.number(),
  /**
   * The sender's clientMsgId (never with ":"), or the idempotency key of an event the server wrote (always with
   * ":", e.g. `call:<callId>`, `game:<id>:result`): unique per sender, so writing an event twice stores it once.
   */
  clientMsgId: z.string(),
  /**
   * A kind this browser's code does not know yet (a server upgraded while the page stayed open) shows as a note
   * with the body, rather than dropping the whole batch it came in; a record without one (a server from before
   * typed events, during a rolling upgrade) is text.
   */
  event: conversationEvent.catch(({ input }) => (input === undefined ? { kind: 'text' as const } : { kind: 'system' as const })),
});
export type MessageRecord = z.infer<typeof messageRecord>;
export type GameScores = z.infer<typeof gameScoresSchema>;

const gameConversationClientMessages = {
  /** Invites the other side to a game (also a rematch); recorded in the chat. One open game per conversation. */
  'game.invite': z.object({ kind: gameKindSchema }),
  /** The invited player accepts or declines; the inviter may withdraw (accept: false). */
  'game.answer': z.object({ gameId: gameIdSchema, accept: z.boolean() }),
} as const;

const gameConversationServerMessages = {
  /** A game of this conversation changed (and, on joining, the open one): show the invitation or open the game. */
  game: gameRecord,
} as const;

export const gameJoinOptions = z.object({
  gameId: gameIdSchema,
  conversationId: id,
  /** The visitor's conversation token; owners use their session. */
  token: z.string().min(16).max(128).optional(),
});
export type GameJoinOptions = z.infer<typeof gameJoinOptions>;

/** A player's turn-based move or real-time input; its shape is each game's (games/), checked by the game. */
export const gameClientMessages = {
  move: z.object({ move: z.unknown() }),
  resign: z.object({}),
} as const;
export type GameClientMessages = { [K in keyof typeof gameClientMessages]: z.infer<(typeof gameClientMessages)[K]> };

const lastMoveSchema = z.object({ seat: seatSchema, text: z.string() }).nullable();
const gameResultSchema = z.object({ winner: seatSchema.nullable(), reason: z.string() });
export const gameServerMessages = {
  welcome: z.object({
    game: gameRecord,
    /** This device's seat, or null for a spectator. */
    seat: seatSchema.nullable(),
    names: z.tuple([z.string(), z.string()]),
    /** The game's view (games/<kind>.ts); its shape is the game's. */
    view: z.unknown(),
    turn: seatSchema.nullable(),
    lastMove: lastMoveSchema,
    result: gameResultSchema.nullable(),
    scores: gameScoresSchema,
    tickMs: z.number().nullable(),
  }),
  /** After every accepted move (turn-based) or every tick (real-time). */
  state: z.object({ view: z.unknown(), turn: seatSchema.nullable(), lastMove: lastMoveSchema }),
  /** Which players have a device here; a missing one forfeits at `forfeitAt`. */
  players: z.object({ connected: z.tuple([z.boolean(), z.boolean()]), forfeitAt: z.tuple([z.number().nullable(), z.number().nullable()]) }),
  over: z.object({ result: gameResultSchema, game: gameRecord, scores: gameScoresSchema }),
  error: errorPayload,
} as const;
export type GameServerMessages = { [K in keyof typeof gameServerMessages]: z.infer<(typeof gameServerMessages)[K]> };

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
  /** A message: text, files uploaded before (POST /_/api/conversations/<id>/files), or both. */
  send: z
    .object({
      clientMsgId: clientMsgIdSchema,
      body: z
        .string()
        .max(limits.bodyChars, { message: `The message is too long (at most ${limits.bodyChars} characters).` })
        .refine(wellFormed, { message: 'The message contains broken characters.' }),
      files: z
        .array(fileIdSchema)
        .max(limits.filesPerMessage, { message: `A message carries at most ${limits.filesPerMessage} files.` })
        .refine((ids) => new Set(ids).size === ids.length, { message: 'A file is attached twice.' })
        .optional(),
    })
    .refine((m) => m.body.trim().length > 0 || (m.files?.length ?? 0) > 0, { message: 'The message is empty.', path: ['body'] }),
  /** Ask for messages after a seq (catch-up and gap repair). */
  sync: z.object({ afterSeq: seq, limit: z.number().int().min(1).max(limits.pageSize).optional() }),
  /** Ask for older messages (scrolling up). */
  history: z.object({ beforeSeq: seq.min(1), limit: z.number().int().min(1).max(limits.pageSize).optional() }),
  typing: z.object({ active: z.boolean() }),
  receipt: z.object({ kind: z.enum(['delivered', 'read']), seq }),
  rename: z.object({ name: displayNameSchema }),
  /** Calls the other side: every device of theirs in the conversation (and the owner's console) rings. */
  'call.start': z.object({ kind: callKindSchema }),
  /** Answers a ringing call on this device; the first device to accept takes it, the others stop ringing. */
  'call.accept': z.object({ callId: callIdSchema }),
  'call.decline': z.object({ callId: callIdSchema }),
  /**
   * Enters a call that is going on: after a reload (taking back the place this device's person held), from another
   * device, or as a further member. Sent by a member, it only renews that member's `call.ticket`.
   */
  'call.join': z.object({
    callId: callIdSchema,
    /** From this tab's last ticket: takes back exactly that place, even before the server noticed the old socket died. */
    rejoinKey: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, { message: 'rejoinKey is not valid.' }).optional(),
  }),
  /** Hangs up on this device (the caller hanging up while it rings cancels the call). */
  'call.leave': z.object({ callId: callIdSchema }),
  /** Relays an SDP description or an ICE candidate to one other device of the call. */
  'call.signal': z.object({ ...signalTarget, ...signalBody }).refine(exactlyOneSignal, oneSignalMessage),
  /** This device's microphone and camera switched on or off (shown to the others). */
  'call.media': z.object({ callId: callIdSchema, audio: z.boolean(), video: z.boolean() }),
  /** Creates a shared document in this conversation; its card (a `doc` event) goes to everyone. */
  'doc.create': z.object({ title: documentTitleSchema }),
  ...gameConversationClientMessages,
} as const;
export type ConversationClientMessages = { [K in keyof typeof conversationClientMessages]: z.infer<(typeof conversationClientMessages)[K]> };

/**
 * Where a message the owner wrote is on its way out by another channel (email now; XMPP, SMS, push later): the
 * outbox's state of the job that carries it. Views say "Sending", "Sent", "Retrying" or "Not delivered" with the reason.
 */
export const deliveryStateSchema = z.enum(['sending', 'sent', 'retrying', 'failed']);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;
export const deliveryRecord = z.object({
  /** The message it carries. */
  seq,
  channel: z.enum(['email', 'sms']),
  /** Who it goes to (an email address, a phone number). */
  to: z.string(),
  /**
   * Absent or `reply`: the owner's message on its way to the other side. `passOn` (issue 20): a text to the owner's
   * own number passed on to their phone; views show it under that text, and only when it did not get there.
   */
  purpose: z.enum(['reply', 'passOn']).optional(),
  state: deliveryStateSchema,
  /** Why it is retrying or was not delivered, in the relay's words ("550 5.1.1 No such user"). */
  reason: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** The last change, milliseconds since the epoch. */
  at: z.number(),
});
export type DeliveryRecord = z.infer<typeof deliveryRecord>;

// Server -> ConversationRoom client.
export const conversationServerMessages = {
  welcome: z.object({
    conversation: z.object({ id, ownerHandle: z.string(), ownerName: z.string() }),
    me: z.object({ participantId: id, role: roleSchema }),
    participants: z.array(participantRecord),
    ownerOnline: z.boolean(),
    lastSeq: seq,
    /**
     * The call going on as the device joins (its `call.state` follows the catch-up), or null: none, so a call this
     * device still shows ended while it was away (a restart, a long network drop). Absent from older servers.
     */
    callId: callIdSchema.nullable().optional(),
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
  /** The conversation's call, to every device in the conversation, whenever it changes (and on joining). */
  'call.state': callStateSchema,
  /** To the callee's devices: a call is ringing for you. It stops when `call.state` is no longer `ringing`. */
  'call.ring': z.object({
    callId: callIdSchema,
    kind: callKindSchema,
    from: z.object({ participantId: id, name: z.string(), role: roleSchema }),
    ringUntil: z.number(),
  }),
  /** To one member: how this device joins the call's media. Sent again when the mode changes (p2p/mesh to sfu). */
  'call.ticket': z.object({
    callId: callIdSchema,
    /** This device's id in `members` and in signals. */
    deviceId: id,
    /** Keep it for this tab (sessionStorage): `call.join` with it after a reload or a reconnection takes this place back. */
    rejoinKey: z.string(),
    mode: callModeSchema,
    iceServers: z.array(iceServerSchema),
    /** Give it to every RTCPeerConnection of the call (KNOCK_ICE_TRANSPORT_POLICY); absent from older servers: `all`. */
    iceTransportPolicy: iceTransportPolicySchema.optional(),
    /** When the TURN credentials above stop opening new relays: `call.join` again for a fresh ticket before then. */
    expiresAt: z.number(),
    /** Set in `sfu` mode: the conference room and this member's pass into it. */
    sfu: sfuJoinSchema.nullable(),
  }),
  /** A description or candidate from another device of the call, to this device only. */
  'call.signal': z
    .object({ callId: callIdSchema, from: id, participantId: id, ...signalBody })
    .refine(exactlyOneSignal, oneSignalMessage),
  /** To the device that sent `doc.create`: the new document (its card follows as a `message`), to open it at once. */
  'doc.created': z.object({ docId: id, title: z.string() }),
  /**
   * To the owner's devices: how the mailing of one of the owner's messages stands (issue 17), whenever it changes;
   * on joining, `deliveries` gives them all.
   */
  delivery: deliveryRecord,
  deliveries: z.object({ items: z.array(deliveryRecord) }),
  error: errorPayload,
  ...gameConversationServerMessages,
} as const;
export type ConversationServerMessages = { [K in keyof typeof conversationServerMessages]: z.infer<(typeof conversationServerMessages)[K]> };

// ---------------------------------------------------------------------------------------------------------------
// Documents (DESIGN "DocRoom"): one DocRoom per document carries Yjs sync and awareness, as y-protocols encodes
// them, inside msgpack binary fields. Sync: the client sends step 1 on every join; the server answers step 2 and its
// own step 1, the client answers that with step 2 (what the server lacks: offline edits); then updates both ways.
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'must be binary (y-protocols bytes).' });

export const docJoinOptions = z.object({
  docId: id,
  /** The visitor's conversation token; owners use their session instead. */
  token: z.string().min(16).max(128).optional(),
});
export type DocJoinOptions = z.infer<typeof docJoinOptions>;

export const docClientMessages = {
  /** A y-protocols sync message: step 1, step 2 or an update. */
  sync: bytes,
  /** A y-protocols awareness update of this client's own state (cursor, selection); the server sets the name. */
  awareness: bytes,
} as const;
export type DocClientMessages = { [K in keyof typeof docClientMessages]: z.infer<(typeof docClientMessages)[K]> };

export const docServerMessages = {
  welcome: z.object({
    doc: z.object({ id, conversationId: id, title: z.string() }),
    me: z.object({ participantId: id, role: roleSchema, name: z.string() }),
    /** The server refuses an update over maxUpdateBytes, and any update once the document holds maxDocBytes. */
    limits: z.object({ maxUpdateBytes: z.number().int(), maxDocBytes: z.number().int() }),
  }),
  sync: bytes,
  awareness: bytes,
  error: errorPayload,
} as const;
export type DocServerMessages = { [K in keyof typeof docServerMessages]: z.infer<(typeof docServerMessages)[K]> };

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
  /**
   * Owner devices only: a call in one of the owner's conversations rings, was answered or ended, so every tab of the
   * owner rings (and stops), also those not showing that conversation. Answering happens in the conversation.
   */
  call: z.object({
    conversationId: id,
    callId: callIdSchema,
    kind: callKindSchema,
    status: z.enum(['ringing', 'active', 'ended']),
    from: z.object({ name: z.string(), role: roleSchema }),
    ringUntil: z.number().nullable(),
  }),
  error: errorPayload,
} as const;
export type UserServerMessages = { [K in keyof typeof userServerMessages]: z.infer<(typeof userServerMessages)[K]> };

// ---------------------------------------------------------------------------------------------------------------
// HTTP API bodies and answers.
export const loginBody = z.object({ handle: handleSchema, password: z.string().min(1).max(1024) });
export const signupBody = z.object({ handle: handleSchema, displayName: displayNameSchema, password: passwordSchema });
export const emailSchema = z
  .string()
  .trim()
  .max(254, { message: 'The email address is too long.' })
  .regex(/^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+\.[^\s@<>()",;:\\]+$/, { message: 'This does not look like an email address.' });
/** A visitor's knock: their name, and (optional) an email address the owner may answer to later. */
export const knockBody = z.object({
  name: displayNameSchema.optional(),
  email: emailSchema.optional(),
  /** The page of a company's site the widget's chat was opened on (issue 19); its origin must be one of the company's sites. */
  startedOn: z.lazy(() => pageRefSchema).optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// The owner's inbox (issue 16), HTTP under /_/api/conversations (the owner's session).
export const inboxFilterSchema = z.enum(['all', 'unread', 'files', 'archived', 'suspicious']);
export type InboxFilter = z.infer<typeof inboxFilterSchema>;
/** GET /_/api/conversations?q=<words>&filter=<filter>: the owner's conversations, newest activity first. */
export const inboxQuery = z.object({
  q: z.string().trim().max(limits.searchChars, { message: `The search is too long (at most ${limits.searchChars} characters).` }).optional(),
  filter: inboxFilterSchema.default('all'),
});
/** POST /_/api/conversations/<id>/archive: hides it from the default list until new activity (or `archived: false`). */
export const archiveBody = z.object({ archived: z.boolean() });
/** What the owner's files take of their quota (KNOCK_OWNER_QUOTA_BYTES). */
export const quotaRecord = z.object({ usedBytes: z.number().int().nonnegative(), limitBytes: z.number().int().nonnegative() });
export const inboxAnswer = z.object({ conversations: z.array(conversationSummary), quota: quotaRecord });
export type InboxAnswer = z.infer<typeof inboxAnswer>;
/** POST /_/api/conversations/<id>/files (multipart, one part `file`): 201 with the stored file, to name in `send.files`. */
export const uploadAnswer = fileRefSchema;
/** Upload limits the browser checks before it sends a byte (the server checks them again while the bytes stream). */
export const uploadLimits = z.object({ maxFileBytes: z.number().int().positive(), maxFilesPerMessage: z.number().int().positive() });
/** Continue the conversation of a resume link in this browser (its token becomes the visitor's cookie). */
export const resumeBody = z.object({ token: z.string().min(16).max(128) });

/** A visitor's conversation with one owner, as the visitor's page needs it. */
export const visitorConversation = z.object({ id, token: z.string(), resumePath: z.string(), visitorName: z.string() });
export type VisitorConversation = z.infer<typeof visitorConversation>;

export const profileAnswer = z.object({
  handle: z.string(),
  displayName: z.string(),
  online: z.boolean(),
  /** The signed-in account, if any; `isOwner` when it owns this URL. */
  viewer: z.object({ handle: z.string(), displayName: z.string() }).nullable(),
  isOwner: z.boolean(),
  /** The visitor's own conversation with this owner: the one this browser holds (its cookie), if any. */
  conversation: visitorConversation.nullable(),
  /**
   * The conversation of the resume link the page was opened with (`?resume=`), if it is one of this owner's; null
   * without a link or for a link that is not valid. Reading it changes nothing: the browser adopts it only by
   * `POST /_/api/u/<handle>/resume`.
   */
  linked: visitorConversation.nullable(),
  /** What a message's files may be, on this server. Absent from older servers. */
  uploads: uploadLimits.optional(),
  /**
   * Issue 19: this URL is a company's. `role` is the viewer's when the viewer is one of its operators (then
   * `isOwner` is true too: the page is the operators' console); null for everyone else.
   */
  company: z.object({ role: z.enum(['admin', 'operator']).nullable() }).nullable().optional(),
  /** The companies the signed-in owner works for (their console links to them). Only on the owner's own page. */
  companies: z.array(z.object({ handle: z.string(), displayName: z.string(), role: z.enum(['admin', 'operator']) })).optional(),
});
export type ProfileAnswer = z.infer<typeof profileAnswer>;

export const knockAnswer = z.object({ conversationId: id, token: z.string(), resumePath: z.string() });
export type KnockAnswer = z.infer<typeof knockAnswer>;

// ---------------------------------------------------------------------------------------------------------------
// Email (issue 17): HTTP under /_/api (the owner's session cookie, or a mail device's `Authorization: Bearer knd_...`).
/** POST /_/api/emails: "New email". Creates an email conversation with `to` as its visitor; 201 with its id. The
 * message itself (text and files) is then sent in that conversation like any other, and mailed by the outbox. */
export const newEmailBody = z.object({
  to: emailSchema,
  subject: z.string().trim().min(1, { message: 'The subject is empty.' }).max(limits.subjectChars).refine(wellFormed, { message: 'The subject contains broken characters.' }),
});
export const newEmailAnswer = z.object({ conversationId: id });
/** POST /_/api/conversations/<id>/messages: the owner (console or CLI) writes a message over HTTP, as a socket's `send`. */
export const postMessageBody = z.object({
  clientMsgId: clientMsgIdSchema,
  body: z.string().max(limits.bodyChars).refine(wellFormed, { message: 'The message contains broken characters.' }),
  files: z.array(fileIdSchema).max(limits.filesPerMessage).optional(),
});
export const postMessageAnswer = z.object({ seq, at: z.number() });
/** POST /_/api/conversations/<id>/read: raises the owner's read mark (a mail client marked it Seen). */
export const readBody = z.object({ seq });
/** The owner's email address (Settings): notifications of messages left while offline go there once verified. */
export const accountEmailRecord = z.object({ address: z.string(), verified: z.boolean() });
/** A revocable device token (`npx knock mail login`). */
export const deviceRecord = z.object({ id, name: z.string(), createdAt: z.number(), lastUsedAt: z.number().nullable() });
export type DeviceRecord = z.infer<typeof deviceRecord>;
/** GET /_/api/settings. */
export const settingsAnswer = z.object({ email: accountEmailRecord.nullable(), mailAddress: z.string(), devices: z.array(deviceRecord) });
export type SettingsAnswer = z.infer<typeof settingsAnswer>;
/** PUT /_/api/settings/email: sets the address (unverified: a link is mailed to it); `null` removes it. */
export const settingsEmailBody = z.object({ address: emailSchema.nullable() });
/** POST /_/api/devices: a mail client logs in (handle and password, as the console's login), gets a token once. */
export const deviceLoginBody = z.object({
  handle: handleSchema,
  password: z.string().min(1).max(1024),
  name: z.string().trim().min(1).max(64),
  /** An account with two-factor sign-in (issue 22): a code of its authenticator app, or a recovery code. */
  code: z.string().trim().min(1).max(64).optional(),
});
export const deviceLoginAnswer = z.object({ id, token: z.string(), handle: z.string(), mailAddress: z.string() });
/** GET /_/api/mail/conversations (a device token): every conversation, for `npx knock mail sync`. */
export const mailConversationRecord = z.object({ id, subject: z.string(), lastSeq: seq, ownerReadSeq: seq });
export const mailConversationsAnswer = z.object({ conversations: z.array(mailConversationRecord) });
/**
 * GET /_/api/mail/conversations/<id>/messages?after=<seq>: the messages after `after` (at most `limits.pageSize`), each
 * as an RFC 5322 message (what came in by email byte for byte; the rest composed, with attachments), base64.
 */
export const mailMessagesAnswer = z.object({ items: z.array(z.object({ seq, from: z.enum(['owner', 'visitor']), eml: z.string() })), more: z.boolean() });

/** Turns a zod failure into one sentence a person can read (CONVENTIONS 3). */
export function describeIssues(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'The request is not valid.';
  const where = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return `${where}${first.message}`;
}

// -- forwarding to the owner's other channels (issue 18): Settings → Channels, engine/http/channelsApi.ts ----------

export const channelKindSchema = z.enum(['xmpp', 'email', 'sms', 'webhook', 'push']);
/** A bare JID (`name@server`), as Knock's XMPP account subscribes to it: lower case, no resource. */
export const jidSchema = z
  .string()
  .trim()
  .max(1023)
  .transform((s) => s.toLowerCase())
  .refine((s) => /^[^@/\s"&'<>:]{1,256}@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/.test(s), 'Give an XMPP address such as you@jabber.example (no resource).');
/** An E.164 phone number (`+15551234567`); spaces, dots, dashes and brackets are taken out first. */
export const phoneSchema = z
  .string()
  .trim()
  .max(40)
  .transform((s) => s.replace(/[\s().-]/g, ''))
  .refine((s) => /^\+[1-9]\d{6,14}$/.test(s), 'Give the number in international form, starting with + and the country code (+15551234567).');
/** A webhook's URL; https only unless the server allows otherwise (checked again by the channel when it calls). */
export const webhookUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'Give the https:// address of your webhook.');
/** A browser's PushSubscription as `subscription.toJSON()` gives it (checked in full by the push channel). */
export const pushSubscriptionBody = z.object({
  endpoint: z.string().max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({ p256dh: z.string().max(200), auth: z.string().max(100) }),
});
/** POST /_/api/channels: a new channel (a code is sent to it, except push: the browser's subscription is the proof). */
export const addChannelBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('xmpp'), address: jidSchema }),
  z.object({ kind: z.literal('email'), address: emailSchema }),
  z.object({ kind: z.literal('sms'), address: phoneSchema }),
  z.object({ kind: z.literal('webhook'), address: webhookUrlSchema }),
  z.object({ kind: z.literal('push'), subscription: pushSubscriptionBody, device: z.string().trim().max(64).optional() }),
]);
export type AddChannelBody = z.infer<typeof addChannelBody>;
export const verifyChannelBody = z.object({ code: z.string().trim().regex(/^\d{6}$/, 'The code is the six digits you were sent.') });
/** The longest a step may wait after the knock: a day. */
export const MAX_CHANNEL_DELAY_MS = 24 * 3_600_000;
export const channelDelayBody = z.object({ delayMs: z.number().int().min(0).max(MAX_CHANNEL_DELAY_MS) });
export const channelOrderBody = z.object({ ids: z.array(id).min(1).max(50) });
const minuteOfDay = z.number().int().min(0).max(1439);
export const forwardingSettingsSchema = z.object({
  paused: z.boolean(),
  timeZone: z
    .string()
    .max(64)
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'Give a time zone such as Europe/Berlin.'),
  quietHours: z.object({ start: minuteOfDay, end: minuteOfDay }).refine((q) => q.start !== q.end, 'Quiet hours start and end at different times.').nullable(),
  xmppAwayCounts: z.boolean(),
});
/** What became of the channel's latest forward, as the owner reads it. */
export const forwardStateSchema = z.enum(['queued', 'sent', 'delivered', 'failed', 'cancelled']);
export const channelRecord = z.object({
  id,
  kind: channelKindSchema,
  /** As shown: the JID, number, address or URL; for push, the push service's host. */
  address: z.string(),
  verified: z.boolean(),
  position: z.number().int(),
  delayMs: z.number().int(),
  lastForward: z.object({ state: forwardStateSchema, at: z.number(), error: z.string().nullable() }).nullable(),
  /** The owner's presence as the channel sees it (XMPP; `unknown` for the others). */
  presence: z.enum(['available', 'away', 'unavailable', 'unknown']),
});
export type ChannelRecord = z.infer<typeof channelRecord>;
export const channelsAnswer = z.object({
  channels: z.array(channelRecord),
  settings: forwardingSettingsSchema,
  /** The kinds this server can send (XMPP and SMS need their accounts configured). */
  available: z.array(channelKindSchema),
  /** The VAPID public key browsers subscribe with, or null when push is off. */
  vapidPublicKey: z.string().nullable(),
});
export type ChannelsAnswer = z.infer<typeof channelsAnswer>;
/** A channel just added: a webhook's signing secret is shown this once. */
export const addChannelAnswer = z.object({ channel: channelRecord, secret: z.string().nullable(), codeSent: z.boolean() });
export type AddChannelAnswer = z.infer<typeof addChannelAnswer>;

// ---------------------------------------------------------------------------------------------------------------
// Live help (issue 19): the SiteRoom of a company (one per company: `site:<accountId>`), joined by the widget's
// monitor frame of every visitor on the company's sites and by the operators' consoles.

/** The request header an operator's console sends with every API call it makes for the company (`X-Knock-Account: acme`). */
export const ACTING_ACCOUNT_HEADER = 'x-knock-account';

/** An origin a company lets embed its widget: scheme, host and port only (`https://shop.example`). */
export const siteOriginSchema = z
  .string()
  .max(256)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s;
    } catch {
      return false;
    }
  }, { message: 'An allowed site is an origin like https://shop.example (scheme, host and port only, no path).' });

/** A page of a company's site: where a monitored visitor is, where a chat started. */
export const pageRefSchema = z.object({
  url: z
    .string()
    .max(limits.pageUrlChars, { message: `The page address is too long (at most ${limits.pageUrlChars} characters).` })
    .refine((s) => /^https?:\/\//.test(s) && URL.canParse(s), { message: 'The page address is not a web address.' }),
  title: z.string().max(limits.pageTitleChars).refine(wellFormed, { message: 'The page title contains broken characters.' }),
});
export type PageRef = z.infer<typeof pageRefSchema>;

/** The widget's random id for this browser on this company's sites (kept in the frame's storage, partitioned by site). */
export const siteVisitorIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, { message: 'visitorId is not valid.' });

export const siteJoinOptions = z.discriminatedUnion('as', [
  z.object({
    as: z.literal('visitor'),
    /** The company's handle. */
    handle: handleSchema,
    visitorId: siteVisitorIdSchema,
    /** The embedding site's origin (the frame's parent): must be one of the company's sites. */
    site: siteOriginSchema,
    /** False under Global Privacy Control / Do Not Track: the visitor sees the button but is not monitored. */
    monitor: z.boolean(),
    /** The visitor said "No thanks" earlier in this visit: no more invitations. */
    declined: z.boolean().optional(),
  }),
  z.object({ as: z.literal('operator'), handle: handleSchema }),
]);
export type SiteJoinOptions = z.infer<typeof siteJoinOptions>;

export const siteClientMessages = {
  /** Visitor (monitored): now on this page. `referrer` is where the visitor came from ('' if none). */
  page: pageRefSchema.extend({ referrer: z.string().max(limits.pageUrlChars) }),
  /** Visitor: the chat of this visit is this conversation (the widget's chat frame knocked or resumed). */
  chatting: z.object({ conversationId: id }),
  /** Visitor: the answer to an invitation. */
  'invite.answer': z.object({ accepted: z.boolean() }),
  /** Operator: invite a monitored visitor to chat. */
  invite: z.object({ visitorId: siteVisitorIdSchema, text: z.string().min(1).max(200).refine(wellFormed).optional() }),
  /** Operator: take a chat of the company, queued or another operator's (a take-over). */
  'chat.take': z.object({ conversationId: id }),
  /** Operator: hand a chat of the company to another of its operators (by handle). */
  'chat.transfer': z.object({ conversationId: id, to: handleSchema }),
  /** Operator: the chat is over (its operator is free for the next one in the queue). */
  'chat.end': z.object({ conversationId: id }),
} as const;
export type SiteClientMessages = { [K in keyof typeof siteClientMessages]: z.infer<(typeof siteClientMessages)[K]> };

/** A monitored visitor as the operators' "Visitors" list shows it. */
export const siteVisitorRecord = z.object({
  visitorId: siteVisitorIdSchema,
  /** The page the visitor is on now, and since when (ms since the epoch). */
  page: pageRefSchema.extend({ referrer: z.string() }),
  pageSince: z.number(),
  /** Pages seen on the company's sites, this one included (kept page views). */
  pagesSeen: z.number().int().nonnegative(),
  /** Seen on the company's sites before this visit. */
  returning: z.boolean(),
  /** The conversation of this visit, if the visitor is chatting. */
  conversationId: id.nullable(),
  invitation: z.enum(['none', 'pending', 'accepted', 'declined']),
  /** False for a few seconds while the visitor moves to the next page (the socket of the last one closed). */
  connected: z.boolean(),
});
export type SiteVisitorRecord = z.infer<typeof siteVisitorRecord>;

/** One open chat of the company as its operators see it: waiting in the queue, or with an operator. */
export const chatAssignmentRecord = z.object({
  conversationId: id,
  state: z.enum(['queued', 'assigned']),
  operator: z.object({ handle: z.string(), displayName: z.string() }).nullable(),
  queuedAt: z.number(),
  assignedAt: z.number().nullable(),
  visitorName: z.string(),
  /** The page of the company's site the chat was started on, if the widget told. */
  startedOn: pageRefSchema.nullable(),
});
export type ChatAssignmentRecord = z.infer<typeof chatAssignmentRecord>;

export const siteServerMessages = {
  /** To everyone on join and on every change: the company's name and whether an operator is online (the button). */
  status: z.object({ name: z.string(), online: z.boolean() }),
  /** Operators, on join: every visitor now on the sites. */
  visitors: z.object({ visitors: z.array(siteVisitorRecord) }),
  /** Operators: a visitor arrived or changed (page, chatting, invitation). */
  visitor: siteVisitorRecord,
  /** Operators: a visitor left the sites (no page of theirs open for the grace period). */
  'visitor.gone': z.object({ visitorId: siteVisitorIdSchema }),
  /** Visitor: an operator invites you ("Can we help?"). */
  invited: z.object({ text: z.string() }),
  /** Operators, on join and on every change: the company's open chats, the longest queued first (at most 200). */
  chats: z.object({ assignments: z.array(chatAssignmentRecord) }),
  /** Visitor (the tab of a chat): its place in the queue, 1 = next; null = not waiting (with an operator, or ended). */
  queue: z.object({ position: z.number().nullable() }),
  error: errorPayload,
} as const;
export type SiteServerMessages = { [K in keyof typeof siteServerMessages]: z.infer<(typeof siteServerMessages)[K]> };

// Settings → Company (issue 19): what an admin sees and changes; the CLI does the same.
export const operatorRecord = z.object({
  handle: z.string(),
  displayName: z.string(),
  role: z.enum(['admin', 'operator']),
  status: z.enum(['online', 'away']),
  capacity: z.number().int().min(1).max(50),
});
export type OperatorRecord = z.infer<typeof operatorRecord>;
export const companyAnswer = z.object({
  operators: z.array(operatorRecord),
  sites: z.array(z.string()),
  /** The embed code for the company's site. */
  snippet: z.string(),
});
export type CompanyAnswer = z.infer<typeof companyAnswer>;
export const addSiteBody = z.object({ origin: siteOriginSchema });
export const operatorStatusBody = z.object({ status: z.enum(['online', 'away']) });
export const operatorCapacityBody = z.object({ capacity: z.number().int().min(1).max(50) });
export const operatorInviteAnswer = z.object({ link: z.string(), expiresAt: z.number() });

// Canned responses (issue 19): an operator types `/hello` in the composer and it becomes the company's text for it.
export const CANNED_SHORTCUT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const cannedShortcutSchema = z.string().regex(CANNED_SHORTCUT_PATTERN, {
  message: 'A shortcut is 1 to 32 characters: lowercase letters, digits, "_" or "-", starting with a letter or a digit.',
});
/** Longest canned response, in characters: a paragraph or two, not a document. */
export const CANNED_TEXT_CHARS = 2000;
export const cannedTextSchema = z
  .string()
  .min(1, { message: 'The response is empty.' })
  .max(CANNED_TEXT_CHARS, { message: `The response is too long (at most ${CANNED_TEXT_CHARS} characters).` })
  .refine((s) => s.trim().length > 0, { message: 'The response is empty.' })
  .refine(wellFormed, { message: 'The response contains broken characters.' });
export const cannedRecord = z.object({ shortcut: z.string(), text: z.string() });
export type CannedRecord = z.infer<typeof cannedRecord>;
/** GET /_/api/company/canned, and the answer of every change to the list: the company's responses, by shortcut. */
export const cannedAnswer = z.object({ responses: z.array(cannedRecord) });
export type CannedAnswer = z.infer<typeof cannedAnswer>;
/** PUT /_/api/company/canned/<shortcut>. */
export const cannedBody = z.object({ text: cannedTextSchema });

// The transcript by email (issue 19): the visitor (or the owner) has the conversation mailed to an address.
/** POST /_/api/conversations/<id>/transcript. */
export const transcriptBody = z.object({ email: emailSchema });
/** 202: queued in the outbox, to `email`. */
export const transcriptAnswer = z.object({ email: z.string() });
export type TranscriptAnswer = z.infer<typeof transcriptAnswer>;

// ---------------------------------------------------------------------------------------------------------------
// Phone numbers as URLs (issue 20): Settings → Phone number, /_/api/phone.

/** A number as the owner types it: any spelling (`+1 (555) 123-4567`); the server parses it (libphonenumber-js). */
export const claimPhoneBody = z.object({ number: z.string().trim().min(1, 'Type your phone number.').max(40, 'A phone number is shorter than that.') });
export const verifyPhoneBody = verifyChannelBody;
const shownPhone = z.object({
  /** E.164: the URL is `/<e164>`. */
  e164: z.string(),
  /** As people write it: `+1 555 123 4567`. */
  display: z.string(),
});
export const phoneAnswer = z.object({
  /** The account's number, its URL too; null: none. */
  number: shownPhone.nullable(),
  /** The claim waiting for its code, if any. */
  pending: shownPhone.extend({ expiresAt: z.number() }).nullable(),
  /** Whether this server can send SMS (the SMPP account is configured); without it no number can be claimed. */
  available: z.boolean(),
});
export type PhoneAnswer = z.infer<typeof phoneAnswer>;

// ---------------------------------------------------------------------------------------------------------------
// Own domains (issue 21): Settings → Domains, /_/api/domains.

/** A domain as the owner types it (any case, a trailing dot, a pasted URL): the server normalizes it. */
export const addDomainBody = z.object({ domain: z.string().trim().min(1, 'Type a domain name.').max(260, 'A domain name is at most 253 characters.') });
export const domainRecord = z.object({
  name: z.string(),
  /** Pending until Knock sees the domain delegated to its name servers. */
  state: z.enum(['pending', 'active']),
  checkedAt: z.number().nullable(),
  /** What the last check saw wrong (in words), if anything. */
  checkError: z.string().nullable(),
  activatedAt: z.number().nullable(),
});
export type DomainRecord = z.infer<typeof domainRecord>;
export const domainsAnswer = z.object({
  domains: z.array(domainRecord),
  /** The NS records to set at the registrar: Knock's name servers. Empty: this server takes no domains. */
  nameservers: z.array(z.string()),
});
export type DomainsAnswer = z.infer<typeof domainsAnswer>;

// ---------------------------------------------------------------------------------------------------------------
// Account safety (issue 22): the audit log the owner reads (Settings → Audit log, /_/api/security/audit).

/**
 * What an audit entry records. One list for the server, which writes them (engine/auditLog.ts), and the console, which
 * names them in words. Add a kind here before recording it.
 */
export const auditKind = z.enum([
  'login', // a sign-in (the password, plus a second factor when enrolled, or a passkey alone): detail.method
  'login.failed', // a wrong password for this account
  'second_factor.failed', // a wrong TOTP, recovery code or passkey after a right password
  'logout',
  'session.ended', // one session ended from Settings or the CLI
  'sessions.ended', // "Log out everywhere" (or a password change): detail.count
  'device.new', // a sign-in from a browser not seen on this account before
  'password.changed',
  'password.recovery_requested',
  'password.recovered', // set through a recovery link
  'totp.enabled',
  'totp.disabled',
  'recovery_codes.created',
  'recovery_code.used',
  'passkey.added',
  'passkey.removed',
  'visitor.blocked',
  'visitor.unblocked',
  'conversation.deleted',
  'data.exported',
]);
export type AuditKind = z.infer<typeof auditKind>;

export const auditEntry = z.object({
  id: z.number(),
  at: z.number(),
  kind: auditKind,
  /** The client's address as Knock saw it (behind a proxy: KNOCK_TRUST_PROXY), null when not from a request (the CLI). */
  ip: z.string().nullable(),
  /** The browser, in words ("Chrome 131 on Linux"), null when unknown. */
  device: z.string().nullable(),
  /** The kind's own facts (a method, a count, a name), never a secret. */
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
});
export type AuditEntryView = z.infer<typeof auditEntry>;
export const auditAnswer = z.object({
  entries: z.array(auditEntry),
  /** Pass as `?before=` for the next (older) page; null at the oldest. */
  next: z.number().nullable(),
});
export type AuditAnswer = z.infer<typeof auditAnswer>;

// Account safety (issue 22): sessions (Settings → Sessions, /_/api/security/sessions), the password (Settings →
// Password, /_/api/security/password) and its recovery by email (/_/api/password/recover, /_/api/password/reset).

export const sessionView = z.object({
  /** The session's public id (never its token or the token's hash): DELETE /_/api/security/sessions/<id> ends it. */
  id: z.string(),
  /** The browser at sign-in, in words ("Chrome 131 on Linux"); null when unknown. */
  device: z.string().nullable(),
  /** The client's address at sign-in; null when unknown. */
  ip: z.string().nullable(),
  createdAt: z.number(),
  /** When it was last used, to within a few minutes. */
  lastSeenAt: z.number(),
  /** The session of the browser asking. */
  current: z.boolean(),
});
export type SessionView = z.infer<typeof sessionView>;
export const sessionsAnswer = z.object({ sessions: z.array(sessionView) });
export type SessionsAnswer = z.infer<typeof sessionsAnswer>;
/** "Log out everywhere" and "Change password": how many sessions ended. */
export const sessionsEndedAnswer = z.object({ ended: z.number() });

export const changePasswordBody = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: passwordSchema });
/** A recovery link is asked for by the account's handle or its verified email address. */
export const recoverPasswordBody = z.object({
  handleOrEmail: z.string().trim().min(1, { message: 'Type your handle or email address.' }).max(254, { message: 'This is too long for a handle or an email address.' }),
});
export const resetPasswordBody = z.object({
  /** The token of the link's fragment (`/_/reset#<token>`). */
  token: z.string().max(256),
  newPassword: passwordSchema,
});
/**
 * A reset never signs in by itself (a second factor, where one is enrolled, is asked at the next login like at every
 * login): the person logs in with the new password.
 */
export const resetPasswordAnswer = z.object({ signedIn: z.literal(false), /** Whose password it was: the page links to its login. */ handle: z.string() });
export type ResetPasswordAnswer = z.infer<typeof resetPasswordAnswer>;
// ---------------------------------------------------------------------------------------------------------------
// Account safety (issue 22): blocked visitors (a conversation's "Block", Settings → Blocked visitors, /_/api/blocks),
// the export of an account's data and its deletion (Settings → "Export my data", "Delete account", /_/api/account).

export const blockRecord = z.object({
  id: z.string(),
  /** The conversation it was made in; null once that conversation was deleted. */
  conversationId: z.string().nullable(),
  /** The visitor's name in that conversation ('' when they gave none). */
  visitorName: z.string(),
  /** Until when the visitor's last address is refused too; null: no address was known. */
  addressUntil: z.number().nullable(),
  createdAt: z.number(),
  /** The handle of who blocked (the owner, or one of a company's operators); null once that account is gone. */
  blockedBy: z.string().nullable(),
});
export type BlockRecord = z.infer<typeof blockRecord>;
/** GET /_/api/blocks, DELETE /_/api/blocks/<id>: the account's blocks, newest first. */
export const blocksAnswer = z.object({ blocks: z.array(blockRecord) });
export type BlocksAnswer = z.infer<typeof blocksAnswer>;
/** GET, POST, DELETE /_/api/conversations/<id>/block: the block of the conversation's visitor, or null. */
export const conversationBlockAnswer = z.object({ block: blockRecord.nullable() });
export type ConversationBlockAnswer = z.infer<typeof conversationBlockAnswer>;

/**
 * POST /_/api/account/delete: the password (and the second factor, when the account has one) again, and the handle
 * typed again, so neither a stolen session nor a slip deletes an account.
 */
export const deleteAccountBody = z.object({
  password: z.string().min(1, 'Type your password.').max(1024, 'That is not your password.'),
  handle: z.string().max(64, 'Type your handle.'),
  code: z.string().max(16).optional(),
  recoveryCode: z.string().max(64).optional(),
});
export type DeleteAccountBody = z.infer<typeof deleteAccountBody>;
// ---------------------------------------------------------------------------------------------------------------
// Two-factor sign-in (issue 22): Settings → Two-factor sign-in (/_/api/security/second-factor) and the login's second
// step (/_/api/login/second-factor, /_/api/login/passkey). engine/http/secondFactorApi.ts serves them.

/** The second factors an account may sign in with, in the order the login offers them. */
export const secondFactorMethod = z.enum(['totp', 'recovery', 'passkey']);
export type SecondFactorMethod = z.infer<typeof secondFactorMethod>;

const base64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, { message: 'is not base64url.' });
/**
 * A WebAuthn credential as the browser gives it (@simplewebauthn/browser's startRegistration or startAuthentication):
 * its shape checked here, its meaning by @simplewebauthn/server.
 */
export const webAuthnCredential = z.looseObject({
  id: base64url(1024),
  rawId: base64url(1024),
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: base64url(8192) }),
  clientExtensionResults: z.looseObject({}),
});
/** A challenge's id (the browser hands it back with the signed answer), or a login ticket. */
const secretId = z.string().min(16).max(128);
const totpCode = z.string().transform((s) => s.replace(/\s/g, '')).pipe(z.string().regex(/^\d{6}$/, { message: 'An authentication code is 6 digits.' }));
const passwordField = z.string().min(1, { message: 'Give your password.' }).max(1024);

/**
 * A second factor as given: a code of the authenticator app, a recovery code, or a passkey's signed answer (with the
 * id of the challenge it answers, outside of a login, whose ticket holds its challenge).
 */
export const secondFactorProof = z.object({
  code: totpCode.optional(),
  recoveryCode: z.string().min(1).max(64).optional(),
  passkey: webAuthnCredential.optional(),
  challengeId: secretId.optional(),
});
export type SecondFactorProof = z.infer<typeof secondFactorProof>;
/** POST /_/api/login/second-factor: the ticket of the password step and one second factor. */
export const loginSecondFactorBody = secondFactorProof.extend({ ticket: secretId });
/** POST /_/api/login/passkey (a passkey alone), and a new passkey (with the name its owner gives it). */
export const passkeyAnswerBody = z.object({ challengeId: secretId, response: webAuthnCredential });
const passkeyName = z.string().trim().min(1, { message: 'Give the passkey a name.' }).max(64).refine(wellFormed, { message: 'The name contains broken characters.' });
export const addPasskeyBody = passkeyAnswerBody.extend({ name: passkeyName });
export const renamePasskeyBody = z.object({ name: passkeyName });
/** Settings: turning the app on (its first code and the password), off (the password and a second factor), adding a passkey (the password). */
export const totpConfirmBody = z.object({ code: totpCode, password: passwordField });
export const totpOffBody = secondFactorProof.extend({ password: passwordField });
export const passwordBody = z.object({ password: passwordField });

export const passkeyView = z.object({ id, name: z.string(), createdAt: z.number(), lastUsedAt: z.number().nullable() });
export type PasskeyView = z.infer<typeof passkeyView>;
/** GET /_/api/security/second-factor: what is on. */
export const secondFactorAnswer = z.object({ totp: z.boolean(), recoveryCodesLeft: z.number(), passkeys: z.array(passkeyView) });
export type SecondFactorAnswer = z.infer<typeof secondFactorAnswer>;
/** A change in Settings: the state after it, and new recovery codes when it made them (shown once), else null. */
export const secondFactorChange = z.object({ state: secondFactorAnswer, recoveryCodes: z.array(z.string()).nullable() });
export type SecondFactorChange = z.infer<typeof secondFactorChange>;
/** POST /_/api/security/second-factor/totp: the secret of a new app (pending until its first code) and its otpauth:// URI. */
export const totpEnrolment = z.object({ secret: z.string(), uri: z.string() });
export type TotpEnrolment = z.infer<typeof totpEnrolment>;
/** WebAuthn options for the browser's ceremony, and the id of their challenge (sent back with the answer). */
export const webAuthnOptions = z.object({ challengeId: z.string(), options: z.looseObject({ challenge: z.string() }) });
export type WebAuthnOptions = z.infer<typeof webAuthnOptions>;
/** The answer of POST /_/api/login when the password is right and a second factor is due (no session yet). */
export interface SecondFactorLogin {
  ticket: string;
  methods: SecondFactorMethod[];
  /** Options to sign in with one of the account's passkeys, when it has any. */
  passkey?: WebAuthnOptions['options'];
}
