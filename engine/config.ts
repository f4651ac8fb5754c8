/**
 * Knock's one configuration (CONVENTIONS 10): a zod schema with defaults, read from the environment in one place
 * (`configFromEnv`, called by the entry points only). Durations are in milliseconds, sizes in bytes.
 * The README's "Configuration" section documents every variable below; keep them in step.
 */
import path from 'node:path';
import { z } from 'zod';
import { KnockError } from './errors.ts';
import { describeIssues } from './protocol.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `postgres://` or `postgresql://` URLs; the value is never echoed in errors (it may hold a password). */
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' });
const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });
/** What PostgresStorage accepts as a schema name (adapters/storage/postgres/migrate.ts). */
const schemaName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'use letters, digits and underscores (at most 63), not starting with a digit');
/**
 * host[:port][/path] as clients reach this process, no scheme: Colyseus builds room sockets as
 * `ws(s)://<publicAddress>/<processId>/<roomId>` (the scheme follows the page's).
 */
const publicAddress = z
  .string()
  .regex(
    /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(\/[A-Za-z0-9._~-]+)*$/,
    'must be host[:port][/path] without a scheme or a trailing slash, e.g. chat.example.com/_/p1 or 10.0.0.5:8080',
  );

/** One entry of KNOCK_ICE_SERVERS: STUN/TURN urls only. A TURN password here would reach every page. */
const iceUrl = z.string().regex(/^(stun|stuns|turn|turns):[^\s]+$/i, 'must be a stun:, stuns:, turn: or turns: URL');
const iceServerEntry = z
  .looseObject({ urls: z.union([iceUrl, z.array(iceUrl).min(1)]) })
  .superRefine((entry, ctx) => {
    if ('username' in entry || 'credential' in entry) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not hold a username or credential (pages would see it): set KNOCK_TURN_SECRET, coturn\u2019s static-auth-secret, instead',
      });
    }
  })
  .transform((entry) => ({ urls: Array.isArray(entry.urls) ? entry.urls : [entry.urls] }));
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const wsUrl = z.url({ protocol: /^(wss?|https?)$/, error: 'must be a ws://, wss://, http:// or https:// URL' });

/** A host name in DNS: lower-case letters, digits and hyphens in dot-separated labels, no trailing dot. */
const dnsHostName = z
  .string()
  .transform((v) => v.toLowerCase().replace(/\.$/, ''))
  .pipe(z.string().regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, 'must be host names, e.g. ns1.chat.example'));

const rate = z.object({ perWindow: z.number().int().positive(), windowMs: z.number().int().positive() });
export type RateLimitConfig = z.infer<typeof rate>;

export const configSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().default('0.0.0.0'),
  dataDir: z.string().default('./data'),
  /** The address people use, e.g. https://chat.example.com. Used for WebSocket Origin checks and links. */
  publicUrl: z.url().optional(),
  /** Self sign-up at /_/signup. */
  signupOpen: z.boolean().default(true),
  /**
   * How many reverse proxies in front of Knock append to X-Forwarded-For (engine/http/clientAddress.ts): the client is
   * the entry that many from the right. 0 (false): the header is ignored, the TCP peer is the client; true means 1.
   */
  trustProxy: z
    .union([z.boolean(), z.number().int().min(0).max(16)], { error: 'must be true, false or a number of proxies from 0 to 16' })
    .default(false)
    .transform((v) => (v === true ? 1 : v === false ? 0 : v)),
  /** Cookies get `Secure` (HTTPS deployments). Defaults to true when publicUrl is https. */
  secureCookies: z.boolean().optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  sessionTtlMs: z.number().int().positive().default(30 * 24 * 3600_000),
  /** How often the sessions of open sockets are checked; a socket whose session ended (CLI, expiry) closes within it. */
  sessionCheckIntervalMs: z.number().int().min(200).max(600_000).default(2000),
  /** How often expired sessions are deleted. */
  sessionPurgeIntervalMs: z.number().int().min(1000).max(7 * 24 * 3600_000).default(3600_000),
  /** Largest WebSocket frame accepted at all; bigger frames close the socket (1009). */
  maxFrameBytes: z.number().int().min(4096).default(4 * 1024 * 1024),
  /** Largest room message handled; bigger ones (up to maxFrameBytes) get a `too_large` error, the socket stays. */
  maxMessageBytes: z.number().int().min(1024).default(64 * 1024),
  /** Largest HTTP JSON body. */
  maxBodyBytes: z.number().int().min(1024).default(64 * 1024),
  /** Open WebSockets one client address may hold (behind a proxy, the address it forwards); engine/http/connectionLimits.ts. */
  maxWebSocketsPerIp: z.number().int().min(1).max(1_000_000).default(1000),
  /** Open TCP connections one remote address may hold, when no proxy is trusted (behind one, the proxy's business). */
  maxConnectionsPerIp: z.number().int().min(1).max(1_000_000).default(1500),
  /** A request's headers must all arrive within this; a slow or silent connection gets 408 and is closed. */
  headersTimeoutMs: z.number().int().min(1000).max(600_000).default(10_000),
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000),
  /** An idle keep-alive HTTP connection is closed after this (behind a load balancer, set it above the balancer's idle timeout). */
  keepAliveTimeoutMs: z.number().int().min(1000).max(600_000).default(5000),
  /** Server pings an owner's devices this often; one missed pong closes it (owner presence turns offline). */
  pingIntervalMs: z.number().int().min(0).default(800),
  /** Server pings every other socket (visitors) this often; one missed pong closes it. */
  idlePingIntervalMs: z.number().int().min(0).default(10_000),
  // Strict: a misspelt limit in KNOCK_RATE_LIMITS is refused by name rather than silently left at its default.
  rateLimits: z
    .strictObject({
      /** Messages one connection may send (token bucket: perWindow tokens refilled over windowMs). */
      socketMessages: rate.default({ perWindow: 30, windowMs: 10_000 }),
      /** Typing and receipt signals per connection. */
      socketSignals: rate.default({ perWindow: 60, windowMs: 10_000 }),
      /** Conversations a single IP may start. */
      knocksPerIp: rate.default({ perWindow: 10, windowMs: 60_000 }),
      /** Conversations anyone may start with one owner. */
      knocksPerTarget: rate.default({ perWindow: 120, windowMs: 60_000 }),
      /** Login attempts from one client address, whatever the account (over it: refused). */
      loginsPerIp: rate.default({ perWindow: 20, windowMs: 60_000 }),
      /** Login attempts for one account from one client address (over it: refused). */
      loginsPerHandleAndIp: rate.default({ perWindow: 10, windowMs: 60_000 }),
      /** Login attempts for one account from everywhere (over it: slowed down, never refused; engine/loginThrottle.ts). */
      loginsPerHandle: rate.default({ perWindow: 10, windowMs: 60_000 }),
      signupsPerIp: rate.default({ perWindow: 5, windowMs: 3600_000 }),
      /** Calls one participant (a visitor, an owner) may start in one conversation. */
      callStarts: rate.default({ perWindow: 5, windowMs: 60_000 }),
      /** SDP descriptions and ICE candidates one connection may relay (trickle ICE comes in bursts). */
      callSignals: rate.default({ perWindow: 300, windowMs: 10_000 }),
      /** Yjs sync and awareness messages one connection may send to a document (a keystroke is one, a cursor move one). */
      docMessages: rate.default({ perWindow: 600, windowMs: 10_000 }),
      /** Room joins (matchmaking requests) from one IP: a page makes a few, reconnecting after a restart a few more. */
      matchmakesPerIp: rate.default({ perWindow: 300, windowMs: 60_000 }),
      /** File uploads from one client address. */
      uploadsPerIp: rate.default({ perWindow: 120, windowMs: 60_000 }),
      /** SMTP connections one address may open to Knock's mail server. */
      mailConnectionsPerIp: rate.default({ perWindow: 30, windowMs: 60_000 }),
      /** Mails one address may deliver to Knock's mail server (over it: 451, try later). */
      mailsPerIp: rate.default({ perWindow: 60, windowMs: 60_000 }),
      /** Opening a mail link (verify an address, unsubscribe) from one client address: links are guessed here, if anywhere. */
      mailLinksPerIp: rate.default({ perWindow: 30, windowMs: 60_000 }),
      /** New addresses one account mails first (a "New email", an address to verify): a stolen login sends little spam. */
      newEmailsPerAccount: rate.default({ perWindow: 30, windowMs: 3600_000 }),
      /** Verification codes an account may have sent (Settings → Channels: each costs a message, an SMS costs money). */
      channelCodesPerAccount: rate.default({ perWindow: 10, windowMs: 3600_000 }),
      /** Replies a webhook may post per channel (POST /_/api/channels/<id>/reply), as a socket's messages. */
      channelRepliesPerChannel: rate.default({ perWindow: 60, windowMs: 60_000 }),
      /** Invitations to chat one operator may send (issue 19: each pops a dialog on a visitor's page). */
      siteInvitesPerOperator: rate.default({ perWindow: 30, windowMs: 60_000 }),
      /** Codes by SMS to claim a phone number (issue 20), per account, and to one number from all accounts together. */
      phoneCodesPerAccount: rate.default({ perWindow: 5, windowMs: 3600_000 }),
      phoneCodesPerNumber: rate.default({ perWindow: 3, windowMs: 3600_000 }),
      /** Issue 20, per phone that texts Knock: new SMS conversations and switches to another owner. */
      smsConversationsPerPhone: rate.default({ perWindow: 5, windowMs: 3600_000 }),
      /** Texts one phone may post into conversations (MoInbox already drops more than 20 parts a minute). */
      smsTextsPerPhone: rate.default({ perWindow: 60, windowMs: 3600_000 }),
      /** Texts Knock sends to one phone (owners' replies): a loop with an auto-responder ends here. */
      smsRepliesPerPhone: rate.default({ perWindow: 30, windowMs: 3600_000 }),
      /** New SMS conversations one owner may get from phones (counted in storage, so across processes and restarts). */
      smsConversationsPerOwner: rate.default({ perWindow: 60, windowMs: 3600_000 }),
      /** Password recovery (issue 22): links asked for and links used from one client address. */
      recoveriesPerIp: rate.default({ perWindow: 10, windowMs: 3600_000 }),
      /** Recovery links mailed for one account (more are not sent, and the answer says the same). */
      recoveriesPerAccount: rate.default({ perWindow: 3, windowMs: 3600_000 }),
      /**
       * Wrong second-factor answers (TOTP codes, recovery codes, passkeys) one account may get (issue 22; counted in
       * storage, so across processes). Over it, codes are refused until the window has passed; recovery codes still work.
       */
      secondFactorTries: rate.default({ perWindow: 5, windowMs: 15 * 60_000 }),
      /** Second-factor answers (right or wrong) from one client address, whatever the account (over it: refused). */
      secondFactorTriesPerIp: rate.default({ perWindow: 30, windowMs: 15 * 60_000 }),
      /** Requests on one conference signalling socket (issue 23: joining a call of 12 takes about 30). */
      sfuRequests: rate.default({ perWindow: 200, windowMs: 10_000 }),
    })
    .default({
      socketMessages: { perWindow: 30, windowMs: 10_000 },
      socketSignals: { perWindow: 60, windowMs: 10_000 },
      knocksPerIp: { perWindow: 10, windowMs: 60_000 },
      knocksPerTarget: { perWindow: 120, windowMs: 60_000 },
      loginsPerIp: { perWindow: 20, windowMs: 60_000 },
      loginsPerHandleAndIp: { perWindow: 10, windowMs: 60_000 },
      loginsPerHandle: { perWindow: 10, windowMs: 60_000 },
      signupsPerIp: { perWindow: 5, windowMs: 3600_000 },
      callStarts: { perWindow: 5, windowMs: 60_000 },
      callSignals: { perWindow: 300, windowMs: 10_000 },
      docMessages: { perWindow: 600, windowMs: 10_000 },
      matchmakesPerIp: { perWindow: 300, windowMs: 60_000 },
      uploadsPerIp: { perWindow: 120, windowMs: 60_000 },
      mailConnectionsPerIp: { perWindow: 30, windowMs: 60_000 },
      mailsPerIp: { perWindow: 60, windowMs: 60_000 },
      mailLinksPerIp: { perWindow: 30, windowMs: 60_000 },
      newEmailsPerAccount: { perWindow: 30, windowMs: 3600_000 },
      channelCodesPerAccount: { perWindow: 10, windowMs: 3600_000 },
      channelRepliesPerChannel: { perWindow: 60, windowMs: 60_000 },
      siteInvitesPerOperator: { perWindow: 30, windowMs: 60_000 },
      phoneCodesPerAccount: { perWindow: 5, windowMs: 3600_000 },
      phoneCodesPerNumber: { perWindow: 3, windowMs: 3600_000 },
      smsConversationsPerPhone: { perWindow: 5, windowMs: 3600_000 },
      smsTextsPerPhone: { perWindow: 60, windowMs: 3600_000 },
      smsRepliesPerPhone: { perWindow: 30, windowMs: 3600_000 },
      smsConversationsPerOwner: { perWindow: 60, windowMs: 3600_000 },
      recoveriesPerIp: { perWindow: 10, windowMs: 3600_000 },
      recoveriesPerAccount: { perWindow: 3, windowMs: 3600_000 },
      secondFactorTries: { perWindow: 5, windowMs: 15 * 60_000 },
      secondFactorTriesPerIp: { perWindow: 30, windowMs: 15 * 60_000 },
      sfuRequests: { perWindow: 200, windowMs: 10_000 },
    }),
  /** PostgreSQL for everything durable (several processes share it); absent: SQLite under dataDir. */
  databaseUrl: postgresUrl.optional(),
  /** The PostgreSQL schema holding Knock's tables (created if missing), so one database can hold several Knocks. */
  databaseSchema: schemaName.default('public'),
  /** Redis for Colyseus presence and matchmaking across processes; absent: in-process (one process only). */
  redisUrl: redisUrl.optional(),
  /** This process's address as clients reach it for room sockets (required with redisUrl). */
  publicAddress: publicAddress.optional(),
  /**
   * How long the owner's "online" survives without its process renewing it (renewed every third of it). A process
   * that dies without a word (SIGKILL, power cut) leaves visitors seeing "online" for at most this plus a third.
   */
  presenceTtlMs: z.number().int().min(3000).max(600_000).default(6000),
  /** Directory with the built browser app (client/dist). Built by `npm start` / the test setup. */
  assetsDir: z.string().optional(),
  /** How long a call rings before it ends as a missed call. */
  callRingTimeoutMs: z.number().int().min(1_000).max(600_000).default(45_000),
  /** How long a call keeps the place of a member whose device dropped (a reload, a network change). */
  callRejoinGraceMs: z.number().int().min(1_000).max(600_000).default(30_000),
  /** Most devices in a peer-to-peer (mesh) call, the only kind without a conference server: each sends to all. */
  callMeshMax: z.number().int().min(2).max(8).default(4),
  /** Most devices in a call through the conference server. */
  callMaxMembers: z.number().int().min(3).max(100).default(12),
  /** How long a game waits for a player whose devices all left (a reload, a network drop) before they forfeit. */
  gameForfeitMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Moves and inputs one player may send to a game (Pong sends one per key change; a flood is refused). */
  gameInputs: z.object({ perWindow: z.number().int().min(1).max(10_000), windowMs: z.number().int().min(100).max(600_000) }).default({ perWindow: 30, windowMs: 1_000 }),
  /** STUN/TURN servers handed to call members (TURN ones with per-member credentials from turnSecret). */
  iceServers: z.array(iceServerEntry).default([]),
  /** coturn's static-auth-secret (use-auth-secret): TURN credentials are minted from it, per member, short-lived. */
  turnSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Which ICE candidates call members may use: `all`, or `relay` to send every call through TURN (it hides the
   * members' addresses from each other; it needs a TURN server in iceServers).
   */
  iceTransportPolicy: z.enum(['all', 'relay'], { message: 'must be "all" or "relay"' }).default('all'),
  /** How long minted TURN credentials open new relays (relays already open outlive it). */
  turnTtlMs: z.number().int().min(60_000).max(7 * 24 * 3600_000).default(3600_000),
  /** Janus's HTTP API as this server reaches it, on loopback (e.g. http://127.0.0.1:8088/janus); absent: no SFU. */
  janusUrl: httpUrl.optional(),
  /** Janus's WebSocket API as browsers reach it (e.g. wss://chat.example.com/_/janus). */
  janusPublicUrl: wsUrl.optional(),
  /** The VideoRoom plugin's admin_key: only holders create rooms. */
  janusAdminKey: z.string().min(1).optional(),
  /** Janus's token_auth_secret, when Janus requires signed tokens (token_auth): Knock signs short-lived ones. */
  janusTokenSecret: z.string().min(1).optional(),
  /**
   * The conference server of calls of three or more (issue 23): `mediasoup` in this process, `janus`, or `none`
   * (peer-to-peer up to callMeshMax). Absent: Janus when janusUrl is set, else mediasoup when its worker is built
   * (npm install builds it), else none.
   */
  sfu: z.enum(['mediasoup', 'janus', 'none'], { message: 'must be "mediasoup", "janus" or "none"' }).optional(),
  /** mediasoup worker processes (each uses up to one core); absent: one per core. */
  mediasoupWorkers: z.number().int().min(1).max(64).optional(),
  /** The UDP/TCP ports mediasoup's transports take, each member two (open them in the firewall). */
  rtcMinPort: z.number().int().min(1024).max(65535).default(40000),
  rtcMaxPort: z.number().int().min(1024).max(65535).default(49999),
  /** The address mediasoup's transports listen on. */
  rtcListenIp: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IP address' }).default('0.0.0.0'),
  /**
   * The address browsers send media to (this machine's public IP behind NAT). Absent: the listen address, or when
   * that is 0.0.0.0, this machine's first non-loopback IPv4 address.
   */
  rtcAnnouncedIp: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IP address' }).optional(),
  /** Largest Yjs update (or sync step) one client may send to a document; bigger ones are refused with `too_large`. */
  docMaxUpdateBytes: z.number().int().min(1024).default(1024 * 1024),
  /** Most bytes a document may hold (its compacted Yjs state); updates beyond it are refused with `too_large`. */
  docMaxBytes: z.number().int().min(4096).default(16 * 1024 * 1024),
  /** Largest file one may upload (KNOCK_MAX_UPLOAD_BYTES): bigger ones are refused with 413 while they stream. */
  maxUploadBytes: z.number().int().min(1).max(4 * 1024 ** 3).default(25 * 1024 * 1024),
  /** Most files one message may carry. */
  maxFilesPerMessage: z.number().int().min(1).max(50).default(10),
  /** Bytes of files all of one owner's conversations may hold (uploads by visitors count to the owner). */
  ownerQuotaBytes: z.number().int().min(0).default(1024 ** 3),
  /** A document's stored updates are compacted into one snapshot after this many (and when its room closes). */
  docCompactUpdates: z.number().int().min(1).max(100_000).default(500),
  /**
   * The most a stop (SIGTERM, SIGINT) takes: rooms close and store their last writes, clients are told to reconnect,
   * the database closes. Whatever is still pending then is logged and the process exits with code 1.
   */
  shutdownTimeoutMs: z.number().int().min(1_000).max(600_000).default(10_000),
  // -- email (issue 17) --
  /** The domain of every URL's address (`alice@<mailDomain>`); default: the host of publicUrl, else `localhost`. */
  mailDomain: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, 'must be a domain name, e.g. example.com').optional(),
  /** The SMTP server (Knock as the MX of mailDomain): 25 in production; -1 turns it off. */
  smtpPort: int(-1, 65535).default(2525),
  smtpHost: z.string().default('0.0.0.0'),
  /** STARTTLS certificate and key (PEM files); without them the server offers no STARTTLS. */
  smtpTlsCertFile: z.string().optional(),
  smtpTlsKeyFile: z.string().optional(),
  /** Largest mail accepted (announced as SIZE, refused above it with 552). */
  maxMailBytes: z.number().int().min(1024).max(200 * 1024 * 1024).default(35 * 1024 * 1024),
  /** The most the mails being received may hold in memory together; a mail that would pass it gets 451 (try later). */
  mailBufferBytes: z.number().int().min(1024 * 1024).max(16 * 1024 ** 3).default(128 * 1024 * 1024),
  /** Recipients one mail may have (over it: 452 at RCPT TO). */
  maxMailRecipients: z.number().int().min(1).max(1000).default(50),
  /** SMTP connections open at once from one address. */
  maxMailConnectionsPerIp: z.number().int().min(1).max(10_000).default(10),
  /** Where outgoing mail goes: smtp://user:pass@relay:587 (STARTTLS when offered) or smtps://...:465. Absent: no mail goes out (it waits in the outbox). */
  smtpRelayUrl: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  /** DKIM signing of outgoing mail: the selector (its public key at <selector>._domainkey.<mailDomain>) and the private key file (PEM). */
  dkimSelector: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'must be a DNS label, e.g. knock2026').optional(),
  dkimKeyFile: z.string().optional(),
  /** The outbox's first retry after a temporary failure; each next one waits twice as long (with jitter), up to an hour. */
  outboxRetryBaseMs: z.number().int().min(10).max(3600_000).default(30_000),
  /** Tries before a job is given up as not delivered. */
  outboxMaxAttempts: z.number().int().min(1).max(100).default(12),
  /** How long a process holds a job it is sending before another may take it over (it died). */
  outboxLeaseMs: z.number().int().min(1000).max(3600_000).default(120_000),
  /** How often the outbox looks for jobs due that another process queued. */
  outboxPollMs: z.number().int().min(50).max(600_000).default(5000),
  /** At most one "you have a message" mail per conversation in this time; later messages are gathered into the next. */
  notifyIntervalMs: z.number().int().min(0).max(24 * 3600_000).default(600_000),
  /** An owner's reply in a chat is mailed to the visitor's address after this, unless the visitor read it in the chat by then. */
  visitorMailDelayMs: z.number().int().min(0).max(24 * 3600_000).default(60_000),
  /** Knock's own XMPP account (issue 18): xmpp://host:5222 of any XMPP server, and its JID and password. Absent: no XMPP channel. */
  xmppService: z.url({ protocol: /^xmpps?$/, error: 'must be an xmpp:// or xmpps:// URL, e.g. xmpp://chat.example:5222' }).optional(),
  xmppJid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a bare JID, e.g. knock@chat.example').optional(),
  xmppPassword: z.string().min(1).optional(),
  /** The SMSC of an SMPP 3.4 account at a carrier or aggregator (smpp://host:2775), its system_id and password. Absent: no SMS. */
  smppUrl: z.url({ protocol: /^smpps?$/, error: 'must be an smpp:// URL, e.g. smpp://smsc.example:2775' }).optional(),
  smppSystemId: z.string().min(1).max(16).optional(),
  smppPassword: z.string().min(1).max(9).optional(),
  /** Knock's SMS service number (E.164): forwards come from it, owners reply to it. */
  smsNumber: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number, e.g. +15551234567').optional(),
  /** SMS parts per second the SMPP account may send (the carrier's throughput limit). */
  smsPerSecond: z.number().int().min(1).max(1000).default(10),
  /** The resolver that tells whether a domain is delegated to those name servers (`host:port`); absent: the system's. */
  dnsCheckResolver: z.string().regex(/^(\[[0-9a-f:]+\]|[0-9.]+)(:\d{1,5})?$/i, 'must be an IP address with an optional port, e.g. 127.0.0.1:5353').optional(),
  /** How often pending domains are checked for their delegation. */
  domainCheckIntervalMs: z.number().int().min(1000).max(24 * 3600_000).default(300_000),
  /** Live help (issue 19): days a monitored visitor's page views are kept, then deleted. */
  pageViewRetentionDays: z.number().int().min(1).max(3650).default(30),
  /** Account safety (issue 22): days an account's audit log entries are kept, then deleted. */
  auditRetentionDays: z.number().int().min(1).max(3650).default(365),
  /**
   * A monitored visitor whose last page closed stays in the operators' "Visitors" list this long (moving to the next
   * page of the site closes one socket and opens another), then is gone.
   */
  siteVisitorGraceMs: z.number().int().min(0).max(600_000).default(15_000),
  /** Visitors one company's SiteRoom holds at once (over it, new visitors get the button but are not monitored). */
  siteMaxVisitors: z.number().int().min(1).max(1_000_000).default(20_000),
  /**
   * Lets webhooks and push endpoints be http:// and on private or loopback addresses. Off in production (a webhook
   * URL is typed by an owner: with this on, an owner could make Knock call into its own network). For a bot running
   * beside Knock, and for tests.
   */
  channelsAllowPrivate: z.boolean().default(false),
  // -- own domains: Knock as their authoritative DNS (issue 21, adapters/dns/README.md) --
  /**
   * The DNS server (UDP and TCP): 53 in production, -1 turns it off. It starts only once dnsNameservers and publicIps
   * are set: without them it has nothing true to answer.
   */
  dnsPort: int(-1, 65535).default(5353),
  /** Its bind address; 0.0.0.0 also takes IPv6 (::) where the machine has it. */
  dnsHost: z.string().default('0.0.0.0'),
  /** Knock's name servers, as owners delegate their domains to them (NS and the SOA's primary), e.g. ns1.chat.example. */
  dnsNameservers: z.array(dnsHostName).default([]),
  /** Knock's public addresses, IPv4 and IPv6: the A and AAAA answers of every active domain. */
  publicIps: z.array(z.union([z.ipv4(), z.ipv6()], { error: 'must be IPv4 or IPv6 addresses' })).default([]),
  /** The MX of every active domain; absent: the domain itself (its A/AAAA are Knock's, where the SMTP server listens). */
  dnsMailHost: dnsHostName.optional(),
  /** The CAs allowed to issue for active domains (CAA `issue`); empty: no CAA record. */
  dnsCaaIssuers: z.array(dnsHostName).default(['letsencrypt.org']),
  /** The SPF record of every active domain; absent: `v=spf1` with publicIps, `mx` and `~all` (set it when mail goes out through a relay). */
  dnsSpf: z.string().regex(/^v=spf1( [!-~]+)*$/, 'must start with "v=spf1" and hold printable ASCII terms, e.g. v=spf1 include:_spf.relay.example ~all').max(1024).optional(),
  /** How long the DNS server reuses what it read from storage (the active domains, ACME challenges): every process answers the same within it. */
  dnsCacheMs: z.number().int().min(0).max(60_000).default(3000),
  /** Response rate limiting: answers per second to one client network (/24, /56) for one response; 0 turns it off. */
  dnsResponsesPerSecond: z.number().int().min(0).max(100_000).default(20),
  /** A DNS client over TCP must send its next whole query within this, or its connection is closed (RFC 7766 6.2.3). */
  dnsTcpIdleTimeoutMs: z.number().int().min(200).max(120_000).default(10_000),
  // -- TLS by itself: ACME certificates for own domains (issue 21, adapters/acme/README.md) --
  /**
   * `acme`: Knock terminates TLS itself (HTTPS and WSS on httpsPort; httpPort answers ACME HTTP-01 challenges and
   * redirects everything else to HTTPS) with certificates it orders for active own domains. `off`: plain HTTP on
   * `port` (behind a proxy that terminates TLS, or for development).
   */
  tls: z.enum(['off', 'acme'], { message: 'must be "off" or "acme"' }).default('off'),
  /** Under tls=acme: the HTTPS port of pages, API and WebSockets (PORT is then not used). */
  httpsPort: int(0, 65535).default(443),
  /** Under tls=acme: the plain HTTP port (ACME HTTP-01 challenges, redirects to HTTPS); -1 turns it off. */
  httpPort: int(-1, 65535).default(80),
  /** The ACME CA's directory. Default: Let's Encrypt's production one (its staging one for trials: https://acme-staging-v02.api.letsencrypt.org/directory). */
  acmeDirectory: httpUrl.default('https://acme-v02.api.letsencrypt.org/directory'),
  /** The ACME account's contact address (the CA writes there about expiring certificates and problems); optional. */
  acmeEmail: z.email({ error: 'must be an email address' }).optional(),
  /** Extra CA certificates (PEM file) trusted for the ACME directory's own HTTPS: a test CA such as Pebble's. */
  acmeCaFile: z.string().optional(),
  /** How Knock proves a domain is its: `http-01` (on httpPort, port 80 from the CA) or `dns-01` (a TXT record its DNS server answers). */
  acmeChallenge: z.enum(['http-01', 'dns-01'], { message: 'must be "http-01" or "dns-01"' }).default('http-01'),
  /** A certificate is renewed this long before it expires (or after two thirds of its life, if that comes first). */
  acmeRenewBeforeMs: z.number().int().min(60_000).max(365 * 24 * 3600_000).default(30 * 24 * 3600_000),
  /** After a failed order the next try waits this long, doubling with each failure (with jitter), up to acmeRetryMaxMs. */
  acmeRetryMinMs: z.number().int().min(1000).max(7 * 24 * 3600_000).default(15 * 60_000),
  acmeRetryMaxMs: z.number().int().min(1000).max(30 * 24 * 3600_000).default(24 * 3600_000),
  /** How often each process looks for certificates due (and re-reads the ones other processes stored, for SNI). */
  acmePollMs: z.number().int().min(50).max(3600_000).default(60_000),
  /** The certificate of names that are no active domain with a certificate (the public host): PEM files; absent: a self-signed one. */
  tlsCertFile: z.string().optional(),
  tlsKeyFile: z.string().optional(),
}).superRefine((config, ctx) => {
  // Zod runs this even when a field above failed (its value then is the raw input): look before trusting shapes.
  const urls = Array.isArray(config.iceServers) ? config.iceServers.flatMap((s) => (Array.isArray(s?.urls) ? s.urls : [])) : [];
  if (config.turnSecret === undefined && urls.some((u) => typeof u === 'string' && /^turns?:/i.test(u))) {
    ctx.addIssue({
      code: 'custom',
      path: ['turnSecret'],
      message: 'is required when KNOCK_ICE_SERVERS lists a turn: or turns: server (coturn use-auth-secret + static-auth-secret)',
    });
  }
  if (typeof config.headersTimeoutMs === 'number' && typeof config.requestTimeoutMs === 'number' && config.headersTimeoutMs > config.requestTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message: 'must not be longer than KNOCK_REQUEST_TIMEOUT_MS (the headers are part of the request)' });
  }
  if ((config.smtpTlsCertFile === undefined) !== (config.smtpTlsKeyFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['smtpTlsCertFile'], message: 'KNOCK_SMTP_TLS_CERT_FILE and KNOCK_SMTP_TLS_KEY_FILE go together' });
  }
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['tlsCertFile'], message: 'KNOCK_TLS_CERT_FILE and KNOCK_TLS_KEY_FILE go together' });
  }
  if (typeof config.acmeRetryMinMs === 'number' && typeof config.acmeRetryMaxMs === 'number' && config.acmeRetryMinMs > config.acmeRetryMaxMs) {
    ctx.addIssue({ code: 'custom', path: ['acmeRetryMinMs'], message: 'must not be longer than KNOCK_ACME_RETRY_MAX_MS' });
  }
  if ((config.dkimSelector === undefined) !== (config.dkimKeyFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['dkimSelector'], message: 'KNOCK_DKIM_SELECTOR and KNOCK_DKIM_KEY_FILE go together' });
  }
  if (config.xmppService !== undefined && (config.xmppJid === undefined || config.xmppPassword === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['xmppJid'], message: 'KNOCK_XMPP_SERVICE needs KNOCK_XMPP_JID and KNOCK_XMPP_PASSWORD (Knock\u2019s XMPP account)' });
  }
  if (config.smppUrl !== undefined && (config.smppSystemId === undefined || config.smppPassword === undefined || config.smsNumber === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['smppSystemId'], message: 'KNOCK_SMPP_URL needs KNOCK_SMPP_SYSTEM_ID, KNOCK_SMPP_PASSWORD and KNOCK_SMS_NUMBER' });
  }
  if (Array.isArray(config.dnsNameservers) && Array.isArray(config.publicIps) && (config.dnsNameservers.length === 0) !== (config.publicIps.length === 0)) {
    ctx.addIssue({ code: 'custom', path: ['dnsNameservers'], message: 'KNOCK_DNS_NAMESERVERS and KNOCK_PUBLIC_IPS go together (the DNS server answers with both)' });
  }
  if (config.sfu === 'janus' && config.janusUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['sfu'], message: 'is "janus" but KNOCK_JANUS_URL is not set' });
  }
  if (typeof config.rtcMinPort === 'number' && typeof config.rtcMaxPort === 'number' && config.rtcMinPort > config.rtcMaxPort) {
    ctx.addIssue({ code: 'custom', path: ['rtcMaxPort'], message: 'must not be below KNOCK_RTC_MIN_PORT' });
  }
  if (config.janusUrl !== undefined && config.janusPublicUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['janusPublicUrl'], message: 'is required with KNOCK_JANUS_URL: the address browsers reach Janus\u2019s WebSocket API at' });
  }
  if (typeof config.docMaxUpdateBytes === 'number' && typeof config.maxFrameBytes === 'number' && config.docMaxUpdateBytes + 1024 > config.maxFrameBytes) {
    ctx.addIssue({ code: 'custom', path: ['docMaxUpdateBytes'], message: 'must be at least 1 KiB below KNOCK_MAX_FRAME_BYTES (a bigger frame closes the socket before it can be refused politely)' });
  }
  // Colyseus routes a room's sockets to the one process holding it by this address; without it, a client matched
  // by another process gets "seat reservation expired".
  if (config.redisUrl !== undefined && config.publicAddress === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['publicAddress'],
      message: 'is required when REDIS_URL is set (several processes): the address clients reach this process at, e.g. chat.example.com/_/p1 or 10.0.0.5:8080',
    });
  }
});
export type KnockConfig = z.infer<typeof configSchema>;
export type KnockConfigInput = z.input<typeof configSchema>;

export function parseConfig(input: KnockConfigInput): KnockConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new KnockError('bad_request', `Invalid configuration: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Every environment variable Knock reads, with its config key. */
const envKeys = {
  PORT: 'port',
  HOST: 'host',
  KNOCK_DATA_DIR: 'dataDir',
  KNOCK_PUBLIC_URL: 'publicUrl',
  KNOCK_SIGNUP: 'signupOpen',
  KNOCK_TRUST_PROXY: 'trustProxy',
  KNOCK_SECURE_COOKIES: 'secureCookies',
  KNOCK_LOG_LEVEL: 'logLevel',
  KNOCK_SESSION_TTL_MS: 'sessionTtlMs',
  KNOCK_SESSION_CHECK_INTERVAL_MS: 'sessionCheckIntervalMs',
  KNOCK_SESSION_PURGE_INTERVAL_MS: 'sessionPurgeIntervalMs',
  KNOCK_MAX_FRAME_BYTES: 'maxFrameBytes',
  KNOCK_MAX_MESSAGE_BYTES: 'maxMessageBytes',
  KNOCK_PING_INTERVAL_MS: 'pingIntervalMs',
  KNOCK_IDLE_PING_INTERVAL_MS: 'idlePingIntervalMs',
  KNOCK_MAX_WEBSOCKETS_PER_IP: 'maxWebSocketsPerIp',
  KNOCK_MAX_CONNECTIONS_PER_IP: 'maxConnectionsPerIp',
  KNOCK_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
  KNOCK_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  KNOCK_KEEP_ALIVE_TIMEOUT_MS: 'keepAliveTimeoutMs',
  KNOCK_RATE_LIMITS: 'rateLimits',
  DATABASE_URL: 'databaseUrl',
  KNOCK_DATABASE_SCHEMA: 'databaseSchema',
  REDIS_URL: 'redisUrl',
  KNOCK_PUBLIC_ADDRESS: 'publicAddress',
  KNOCK_PRESENCE_TTL_MS: 'presenceTtlMs',
  KNOCK_CALL_RING_TIMEOUT_MS: 'callRingTimeoutMs',
  KNOCK_CALL_REJOIN_GRACE_MS: 'callRejoinGraceMs',
  KNOCK_CALL_MESH_MAX: 'callMeshMax',
  KNOCK_CALL_MAX_MEMBERS: 'callMaxMembers',
  KNOCK_ICE_SERVERS: 'iceServers',
  KNOCK_TURN_SECRET: 'turnSecret',
  KNOCK_TURN_TTL_MS: 'turnTtlMs',
  KNOCK_ICE_TRANSPORT_POLICY: 'iceTransportPolicy',
  KNOCK_JANUS_URL: 'janusUrl',
  KNOCK_JANUS_PUBLIC_URL: 'janusPublicUrl',
  KNOCK_JANUS_ADMIN_KEY: 'janusAdminKey',
  KNOCK_JANUS_TOKEN_SECRET: 'janusTokenSecret',
  KNOCK_SFU: 'sfu',
  KNOCK_MEDIASOUP_WORKERS: 'mediasoupWorkers',
  KNOCK_RTC_MIN_PORT: 'rtcMinPort',
  KNOCK_RTC_MAX_PORT: 'rtcMaxPort',
  KNOCK_RTC_LISTEN_IP: 'rtcListenIp',
  KNOCK_RTC_ANNOUNCED_IP: 'rtcAnnouncedIp',
  KNOCK_DOC_MAX_UPDATE_BYTES: 'docMaxUpdateBytes',
  KNOCK_DOC_MAX_BYTES: 'docMaxBytes',
  KNOCK_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  KNOCK_MAX_FILES_PER_MESSAGE: 'maxFilesPerMessage',
  KNOCK_OWNER_QUOTA_BYTES: 'ownerQuotaBytes',
  KNOCK_DOC_COMPACT_UPDATES: 'docCompactUpdates',
  KNOCK_GAME_FORFEIT_MS: 'gameForfeitMs',
  KNOCK_SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  KNOCK_MAIL_DOMAIN: 'mailDomain',
  KNOCK_SMTP_PORT: 'smtpPort',
  KNOCK_SMTP_HOST: 'smtpHost',
  KNOCK_SMTP_TLS_CERT_FILE: 'smtpTlsCertFile',
  KNOCK_SMTP_TLS_KEY_FILE: 'smtpTlsKeyFile',
  KNOCK_MAX_MAIL_BYTES: 'maxMailBytes',
  KNOCK_MAX_MAIL_RECIPIENTS: 'maxMailRecipients',
  KNOCK_MAIL_BUFFER_BYTES: 'mailBufferBytes',
  KNOCK_MAX_MAIL_CONNECTIONS_PER_IP: 'maxMailConnectionsPerIp',
  KNOCK_SMTP_RELAY_URL: 'smtpRelayUrl',
  KNOCK_DKIM_SELECTOR: 'dkimSelector',
  KNOCK_DKIM_KEY_FILE: 'dkimKeyFile',
  KNOCK_OUTBOX_RETRY_BASE_MS: 'outboxRetryBaseMs',
  KNOCK_OUTBOX_MAX_ATTEMPTS: 'outboxMaxAttempts',
  KNOCK_OUTBOX_LEASE_MS: 'outboxLeaseMs',
  KNOCK_OUTBOX_POLL_MS: 'outboxPollMs',
  KNOCK_NOTIFY_INTERVAL_MS: 'notifyIntervalMs',
  KNOCK_VISITOR_MAIL_DELAY_MS: 'visitorMailDelayMs',
  KNOCK_XMPP_SERVICE: 'xmppService',
  KNOCK_XMPP_JID: 'xmppJid',
  KNOCK_XMPP_PASSWORD: 'xmppPassword',
  KNOCK_SMPP_URL: 'smppUrl',
  KNOCK_SMPP_SYSTEM_ID: 'smppSystemId',
  KNOCK_SMPP_PASSWORD: 'smppPassword',
  KNOCK_SMS_NUMBER: 'smsNumber',
  KNOCK_SMS_PER_SECOND: 'smsPerSecond',
  KNOCK_DNS_CHECK_RESOLVER: 'dnsCheckResolver',
  KNOCK_DOMAIN_CHECK_INTERVAL_MS: 'domainCheckIntervalMs',
  KNOCK_PAGEVIEW_RETENTION_DAYS: 'pageViewRetentionDays',
  KNOCK_AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  KNOCK_SITE_VISITOR_GRACE_MS: 'siteVisitorGraceMs',
  KNOCK_SITE_MAX_VISITORS: 'siteMaxVisitors',
  KNOCK_CHANNELS_ALLOW_PRIVATE: 'channelsAllowPrivate',
  KNOCK_DNS_PORT: 'dnsPort',
  KNOCK_DNS_HOST: 'dnsHost',
  KNOCK_DNS_NAMESERVERS: 'dnsNameservers',
  KNOCK_PUBLIC_IPS: 'publicIps',
  KNOCK_DNS_MAIL_HOST: 'dnsMailHost',
  KNOCK_DNS_CAA: 'dnsCaaIssuers',
  KNOCK_DNS_SPF: 'dnsSpf',
  KNOCK_DNS_CACHE_MS: 'dnsCacheMs',
  KNOCK_DNS_RESPONSES_PER_SECOND: 'dnsResponsesPerSecond',
  KNOCK_DNS_TCP_IDLE_TIMEOUT_MS: 'dnsTcpIdleTimeoutMs',
  KNOCK_TLS: 'tls',
  KNOCK_HTTPS_PORT: 'httpsPort',
  KNOCK_HTTP_PORT: 'httpPort',
  KNOCK_ACME_DIRECTORY: 'acmeDirectory',
  KNOCK_ACME_EMAIL: 'acmeEmail',
  KNOCK_ACME_CA_FILE: 'acmeCaFile',
  KNOCK_ACME_CHALLENGE: 'acmeChallenge',
  KNOCK_ACME_RENEW_BEFORE_MS: 'acmeRenewBeforeMs',
  KNOCK_ACME_RETRY_MIN_MS: 'acmeRetryMinMs',
  KNOCK_ACME_RETRY_MAX_MS: 'acmeRetryMaxMs',
  KNOCK_ACME_POLL_MS: 'acmePollMs',
  KNOCK_TLS_CERT_FILE: 'tlsCertFile',
  KNOCK_TLS_KEY_FILE: 'tlsKeyFile',
} as const;

/** A JSON-valued variable: parsed here, checked by the config schema. */
const json = (name: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be JSON.` });
      return z.NEVER;
    }
  });

/** A comma-separated list; blanks dropped, so an empty value is an empty list. */
const list = z.string().transform((text) => text.split(',').map((item) => item.trim()).filter((item) => item !== ''));

const envSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  KNOCK_DATA_DIR: z.string().min(1).optional(),
  KNOCK_PUBLIC_URL: z.url().optional(),
  KNOCK_SIGNUP: z.enum(['open', 'closed']).transform((v) => v === 'open').optional(),
  /** true/false, or how many proxies (hops) append to X-Forwarded-For. */
  KNOCK_TRUST_PROXY: z
    .union([bool, z.string().regex(/^\d{1,2}$/).transform(Number)], { error: 'must be true, false or a number of proxies (1, 2, ...)' })
    .optional(),
  KNOCK_SECURE_COOKIES: bool.optional(),
  KNOCK_LOG_LEVEL: z.string().optional(),
  KNOCK_SESSION_TTL_MS: z.coerce.number().int().positive().optional(),
  KNOCK_SESSION_CHECK_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_SESSION_PURGE_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_MAX_FRAME_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_MESSAGE_BYTES: z.coerce.number().int().optional(),
  KNOCK_PING_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_IDLE_PING_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_MAX_WEBSOCKETS_PER_IP: z.coerce.number().int().optional(),
  KNOCK_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().optional(),
  KNOCK_HEADERS_TIMEOUT_MS: z.coerce.number().int().optional(),
  KNOCK_REQUEST_TIMEOUT_MS: z.coerce.number().int().optional(),
  KNOCK_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  KNOCK_DATABASE_SCHEMA: z.string().min(1).optional(),
  REDIS_URL: z.string().min(1).optional(),
  KNOCK_PUBLIC_ADDRESS: z.string().min(1).optional(),
  KNOCK_PRESENCE_TTL_MS: z.coerce.number().int().optional(),
  KNOCK_CALL_RING_TIMEOUT_MS: z.coerce.number().int().optional(),
  KNOCK_CALL_REJOIN_GRACE_MS: z.coerce.number().int().optional(),
  KNOCK_CALL_MESH_MAX: z.coerce.number().int().optional(),
  KNOCK_CALL_MAX_MEMBERS: z.coerce.number().int().optional(),
  /** JSON, e.g. [{"urls":"stun:turn.example.com:3478"},{"urls":["turn:turn.example.com:3478"]}]. */
  KNOCK_ICE_SERVERS: json('KNOCK_ICE_SERVERS').optional(),
  KNOCK_TURN_SECRET: z.string().min(1).optional(),
  KNOCK_TURN_TTL_MS: z.coerce.number().int().optional(),
  KNOCK_ICE_TRANSPORT_POLICY: z.string().min(1).optional(),
  KNOCK_JANUS_URL: z.string().min(1).optional(),
  KNOCK_JANUS_PUBLIC_URL: z.string().min(1).optional(),
  KNOCK_JANUS_ADMIN_KEY: z.string().min(1).optional(),
  KNOCK_JANUS_TOKEN_SECRET: z.string().min(1).optional(),
  KNOCK_SFU: z.string().min(1).optional(),
  KNOCK_MEDIASOUP_WORKERS: z.coerce.number().int().optional(),
  KNOCK_RTC_MIN_PORT: z.coerce.number().int().optional(),
  KNOCK_RTC_MAX_PORT: z.coerce.number().int().optional(),
  KNOCK_RTC_LISTEN_IP: z.string().min(1).optional(),
  KNOCK_RTC_ANNOUNCED_IP: z.string().min(1).optional(),
  KNOCK_DOC_MAX_UPDATE_BYTES: z.coerce.number().int().optional(),
  KNOCK_DOC_MAX_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_UPLOAD_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_FILES_PER_MESSAGE: z.coerce.number().int().optional(),
  KNOCK_OWNER_QUOTA_BYTES: z.coerce.number().int().optional(),
  KNOCK_DOC_COMPACT_UPDATES: z.coerce.number().int().optional(),
  KNOCK_GAME_FORFEIT_MS: z.coerce.number().int().optional(),
  KNOCK_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().optional(),
  KNOCK_MAIL_DOMAIN: z.string().min(1).optional(),
  KNOCK_SMTP_PORT: z.coerce.number().int().optional(),
  KNOCK_SMTP_HOST: z.string().min(1).optional(),
  KNOCK_SMTP_TLS_CERT_FILE: z.string().min(1).optional(),
  KNOCK_SMTP_TLS_KEY_FILE: z.string().min(1).optional(),
  KNOCK_MAX_MAIL_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_MAIL_RECIPIENTS: z.coerce.number().int().optional(),
  KNOCK_MAIL_BUFFER_BYTES: z.coerce.number().int().optional(),
  KNOCK_MAX_MAIL_CONNECTIONS_PER_IP: z.coerce.number().int().optional(),
  KNOCK_SMTP_RELAY_URL: z.string().min(1).optional(),
  KNOCK_DKIM_SELECTOR: z.string().min(1).optional(),
  KNOCK_DKIM_KEY_FILE: z.string().min(1).optional(),
  KNOCK_OUTBOX_RETRY_BASE_MS: z.coerce.number().int().optional(),
  KNOCK_OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().optional(),
  KNOCK_OUTBOX_LEASE_MS: z.coerce.number().int().optional(),
  KNOCK_OUTBOX_POLL_MS: z.coerce.number().int().optional(),
  KNOCK_NOTIFY_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_VISITOR_MAIL_DELAY_MS: z.coerce.number().int().optional(),
  KNOCK_XMPP_SERVICE: z.string().min(1).optional(),
  KNOCK_XMPP_JID: z.string().min(1).optional(),
  KNOCK_XMPP_PASSWORD: z.string().min(1).optional(),
  KNOCK_SMPP_URL: z.string().min(1).optional(),
  KNOCK_SMPP_SYSTEM_ID: z.string().min(1).optional(),
  KNOCK_SMPP_PASSWORD: z.string().min(1).optional(),
  KNOCK_SMS_NUMBER: z.string().min(1).optional(),
  KNOCK_SMS_PER_SECOND: z.coerce.number().int().optional(),
  KNOCK_DNS_CHECK_RESOLVER: z.string().min(1).optional(),
  KNOCK_DOMAIN_CHECK_INTERVAL_MS: z.coerce.number().int().optional(),
  KNOCK_PAGEVIEW_RETENTION_DAYS: z.coerce.number().int().optional(),
  KNOCK_AUDIT_RETENTION_DAYS: z.coerce.number().int().optional(),
  KNOCK_SITE_VISITOR_GRACE_MS: z.coerce.number().int().optional(),
  KNOCK_SITE_MAX_VISITORS: z.coerce.number().int().optional(),
  KNOCK_CHANNELS_ALLOW_PRIVATE: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').optional(),
  /** A port, or -1 / off. */
  KNOCK_DNS_PORT: z.union([z.literal('off').transform(() => -1), z.coerce.number().int()]).optional(),
  KNOCK_DNS_HOST: z.string().min(1).optional(),
  KNOCK_DNS_NAMESERVERS: list.optional(),
  KNOCK_PUBLIC_IPS: list.optional(),
  KNOCK_DNS_MAIL_HOST: z.string().min(1).optional(),
  /** Empty: no CAA record. */
  KNOCK_DNS_CAA: list.optional(),
  KNOCK_DNS_SPF: z.string().min(1).optional(),
  KNOCK_DNS_CACHE_MS: z.coerce.number().int().optional(),
  KNOCK_DNS_RESPONSES_PER_SECOND: z.coerce.number().int().optional(),
  KNOCK_DNS_TCP_IDLE_TIMEOUT_MS: z.coerce.number().int().optional(),
  KNOCK_TLS: z.string().min(1).optional(),
  KNOCK_HTTPS_PORT: z.coerce.number().int().optional(),
  /** A port, or -1 / off. */
  KNOCK_HTTP_PORT: z.union([z.literal('off').transform(() => -1), z.coerce.number().int()]).optional(),
  KNOCK_ACME_DIRECTORY: z.string().min(1).optional(),
  KNOCK_ACME_EMAIL: z.string().min(1).optional(),
  KNOCK_ACME_CA_FILE: z.string().min(1).optional(),
  KNOCK_ACME_CHALLENGE: z.string().min(1).optional(),
  KNOCK_ACME_RENEW_BEFORE_MS: z.coerce.number().int().optional(),
  KNOCK_ACME_RETRY_MIN_MS: z.coerce.number().int().optional(),
  KNOCK_ACME_RETRY_MAX_MS: z.coerce.number().int().optional(),
  KNOCK_ACME_POLL_MS: z.coerce.number().int().optional(),
  KNOCK_TLS_CERT_FILE: z.string().min(1).optional(),
  KNOCK_TLS_KEY_FILE: z.string().min(1).optional(),
  /** JSON, e.g. {"socketMessages":{"perWindow":100,"windowMs":10000}}: overrides some limits, keeps the rest. */
  KNOCK_RATE_LIMITS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'KNOCK_RATE_LIMITS must be JSON.' });
        return z.NEVER;
      }
    })
    .optional(),
});

/** Reads the environment; the only place in Knock that looks at process.env (its caller passes it in). */
export function configFromEnv(env: Record<string, string | undefined>): KnockConfig {
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) throw new KnockError('bad_request', `Invalid environment: ${describeIssues(parsedEnv.error)}`);
  const input: Record<string, unknown> = {};
  for (const [envName, key] of Object.entries(envKeys)) {
    const value = parsedEnv.data[envName as keyof typeof envKeys];
    if (value !== undefined) input[key] = value;
  }
  if (input.rateLimits !== undefined) {
    const defaults = configSchema.shape.rateLimits.parse(undefined);
    input.rateLimits = { ...defaults, ...(input.rateLimits as object) };
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    // Name the variable the operator set, not only the config key it feeds.
    const key = parsed.error.issues[0]?.path[0];
    const envName = Object.entries(envKeys).find(([, k]) => k === key)?.[0];
    throw new KnockError('bad_request', `Invalid environment: ${envName ? `${envName}: ` : ''}${describeIssues(parsed.error)}`);
  }
  const config = parsed.data;
  return { ...config, dataDir: path.resolve(config.dataDir) };
}

/** The domain of every URL's address: KNOCK_MAIL_DOMAIN, else the host of KNOCK_PUBLIC_URL, else `localhost`. */
export function mailDomainOf(config: Pick<KnockConfig, 'mailDomain' | 'publicUrl'>): string {
  if (config.mailDomain !== undefined) return config.mailDomain.toLowerCase();
  if (config.publicUrl !== undefined) return new URL(config.publicUrl).hostname.toLowerCase();
  return 'localhost';
}
