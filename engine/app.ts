/**
 * The composition root: builds every long-lived object of one Knock process from its config, wires them, and
 * closes them in reverse order (CONVENTIONS 11). Nothing else constructs adapters.
 *
 * @example
 *   const knock = await createKnock(parseConfig({ port: 0, dataDir: '/tmp/knock' }), { logger });
 *   await knock.listen();
 *   console.log(knock.url); // http://127.0.0.1:41234
 *   await knock.close();
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { Server, matchMaker, type AuthContext } from '@colyseus/core';
import { LivenessTransport } from '../adapters/colyseus/LivenessTransport.ts';
import { JanusRouter } from '../adapters/media/janus/JanusRouter.ts';
import { MediasoupRouter } from '../adapters/media/mediasoup/MediasoupRouter.ts';
import { SfuSignalling } from '../adapters/media/mediasoup/sfuSignalling.ts';
import { openCoordination, redactUrl } from '../adapters/presence/coordination.ts';
import { PostgresStorage } from '../adapters/storage/postgres/PostgresStorage.ts';
import { SqliteStorage } from '../adapters/storage/sqlite/SqliteStorage.ts';
import { conversationRoomClass } from '../rooms/conversation/ConversationRoom.ts';
import { docRoomClass } from '../rooms/doc/DocRoom.ts';
import { userRoomClass } from '../rooms/user/UserRoom.ts';
import { siteRoomClass } from '../rooms/site/SiteRoom.ts';
import { gameRoomClass } from '../rooms/game/GameRoom.ts';
import type { KnockRoom } from '../rooms/knockRoom.ts';
import { LocalRooms, type RoomSummary } from '../rooms/localRooms.ts';
import { WriteCoalescer } from '../rooms/writeCoalescer.ts';
import type { RoomDeps } from '../rooms/deps.ts';
import { Accounts } from './accounts.ts';
import { Auth } from './auth.ts';
import type { KnockConfig } from './config.ts';
import { Hub } from './hub.ts';
import { ConversationLog } from './conversationLog.ts';
import { Files } from './files.ts';
import { ConversationsApi } from './http/conversationsApi.ts';
import type { Blobs } from './ports/blobs.ts';
import { LocalBlobs } from '../adapters/blobs/local/LocalBlobs.ts';
import { PostgresBlobs } from '../adapters/blobs/postgres/PostgresBlobs.ts';
import { Api } from './http/api.ts';
import { ConnectionLimits } from './http/connectionLimits.ts';
import { originChecker } from './http/origin.ts';
import { HttpHandler } from './http/server.ts';
import { MailPages } from './http/mailPages.ts';
import { MailApi } from './http/mailApi.ts';
import { LoginThrottle } from './loginThrottle.ts';
import { Matchmaking } from './http/matchmaking.ts';
import { ProcessAddresses } from './http/processAddresses.ts';
import type { Logger } from './logger.ts';
import { SmtpInbound } from '../adapters/channels/email/smtpInbound.ts';
import { openDnsServer } from '../adapters/dns/openDnsServer.ts';
import { SmtpRelay } from '../adapters/channels/email/smtpRelay.ts';
import { composeMail } from '../adapters/channels/email/compose.ts';
import { mailDomainOf } from './config.ts';
import { Mail } from './mail.ts';
import { WebhookChannel } from '../adapters/channels/webhook/webhookChannel.ts';
import { WebPushChannel } from '../adapters/channels/push/webPushChannel.ts';
import { makeVapidKeys, storedVapidKeys, vapidKeysFromStored } from '../adapters/channels/push/vapid.ts';
import { parseSubscription, storedSubscription } from '../adapters/channels/push/subscription.ts';
import { SmppChannel } from '../adapters/channels/sms/smppChannel.ts';
import { XmppChannel } from '../adapters/channels/xmpp/xmppChannel.ts';
import { EmailForwardChannel } from './forwarding/emailChannel.ts';
import { Forwarding } from './forwarding/forwarding.ts';
import { SmsGateway } from './sms/smsGateway.ts';
import { SmsOutbound } from './sms/smsOutbound.ts';
import { ChannelsApi } from './http/channelsApi.ts';
import { Companies } from './companies.ts';
import { CompanyApi } from './http/companyApi.ts';
import { TranscriptApi } from './http/transcriptApi.ts';
import { PhoneApi } from './http/phoneApi.ts';
import { DomainsApi } from './http/domainsApi.ts';
import { Domains, ownNames, resolverNs } from './domains.ts';
import { DomainHosts } from './domainHosts.ts';
import { KeyedRateLimiter } from './rateLimit.ts';
import { PhoneNumbers, phoneCodeText } from './phoneNumbers.ts';
import { Transcripts } from './transcripts.ts';
import type { Channel, ChannelKind } from './ports/channel.ts';
import { Outbox } from './outbox.ts';
import { systemClock, systemTimers, type Clock, type Timers } from './ports/clock.ts';
import { KnockError } from './errors.ts';
import type { MediaRouter } from './ports/mediaRouter.ts';
import type { RoomClaims } from './ports/roomClaims.ts';
import type { Storage } from './ports/storage.ts';
import { IceServerIssuer } from './turn.ts';
import { SessionWatch } from './sessionWatch.ts';
import { Retention } from './retention.ts';
import { AuditLog } from './auditLog.ts';
import { Sessions } from './sessions.ts';
import { Passwords } from './passwords.ts';
import { SecurityMail } from './securityMail.ts';
import { SecurityApi } from './http/securityApi.ts';
import { VisitorBlocks } from './visitorBlocks.ts';
import { BlocksApi } from './http/blocksApi.ts';
import { AccountDataApi } from './http/accountDataApi.ts';
import { AccountExport } from './accountExport.ts';
import { AccountRemoval } from './accountRemoval.ts';
import { Challenges } from './secondFactor/challenges.ts';
import { LoginTickets } from './secondFactor/loginTickets.ts';
import { Passkeys } from './secondFactor/passkeys.ts';
import { SecondFactor } from './secondFactor/secondFactor.ts';
import { SecondFactorApi } from './http/secondFactorApi.ts';
import { TlsFront } from './tls.ts';
import { Certificates } from './certificates.ts';
import { AcmeIssuer } from '../adapters/acme/acmeIssuer.ts';
import { readFileSync } from 'node:fs';

/** How long the owner's list waits for more activity in a conversation before it gets one summary of the burst. */
const SUMMARY_DELAY_MS = 50;
/**
 * How often a conversation that stays busy updates its owner's list (its messages themselves go out at once, in its
 * room): each update is a read, 20 a second per busy conversation at SUMMARY_DELAY_MS alone.
 */
const SUMMARY_INTERVAL_MS = 1000;
/** How soon a domain another process activated (or removed) is served (or not) by this one. */
const DOMAIN_HOSTS_REFRESH_MS = 5000;
/** How often uploads never attached to a message are looked for (they go once a day old). */
const UPLOAD_PURGE_INTERVAL_MS = 3600_000;

/** The room types clients may join (and the only ones defined). */
const ROOM_TYPES = { user: 'user', conversation: 'conversation', doc: 'doc', game: 'game', site: 'site' } as const;

export const defaultAssetsDir = fileURLToPath(new URL('../client/dist/', import.meta.url));

export interface Knock {
  readonly storage: Storage;
  readonly accounts: Accounts;
  /** Companies, their operators and sites (issue 19): what the CLI and Settings → Company change them through. */
  readonly companies: Companies;
  /** Each account's audit log (issue 22): what the CLI records its own actions in and reads. */
  readonly audit: AuditLog;
  /** http://host:port once listening (https:// under KNOCK_TLS=acme). */
  readonly url: string;
  /** The port of Knock's SMTP server once listening; null when it is off (KNOCK_SMTP_PORT=-1). */
  readonly mailPort: number | null;
  /** The port of Knock's DNS server (UDP and TCP) once listening; null when it is off (adapters/dns/openDnsServer.ts). */
  readonly dnsPort: number | null;
  /** Under KNOCK_TLS=acme: the port of the plain HTTP listener (ACME challenges, redirects) once listening; else null. */
  readonly httpPort: number | null;
  /** Under KNOCK_TLS=acme: the certificates' renewal loop of this process (engine/certificates.ts); else null. */
  readonly certificates: Certificates | null;
  /** The own domains this process serves (engine/domainHosts.ts): `refresh` reads them now, not in up to 5 s. */
  readonly domainHosts: Pick<DomainHosts, 'refresh'>;
  listen(): Promise<void>;
  /**
   * Stops: no new connections; every room closes (its clients told to reconnect: CloseCode.restarting) once its last
   * writes are stored; then the conference server, the sockets, the database. Not bounded in time by itself: the
   * entry point bounds it (engine/shutdown.ts).
   */
  close(): Promise<void>;
  /** While closing: the step under way, and the rooms that have not finished closing (for the log of a late stop). */
  pending(): { step: string; rooms: RoomSummary[] };
}

/**
 * The database of this config: PostgreSQL when `databaseUrl` is set (shared by every process), else SQLite in
 * `dataDir`. Migrations are applied before it resolves.
 *
 * @example
 *   const storage = await openStorage(configFromEnv(process.env), logger);
 */
export async function openStorage(config: KnockConfig, logger?: Logger): Promise<Storage> {
  if (config.databaseUrl === undefined) {
    const log = logger?.child({ module: 'sqlite' });
    return SqliteStorage.open({
      file: path.join(config.dataDir, 'knock.db'),
      ...(log ? { onError: (err: Error) => log.error({ err }, 'WAL checkpoints moved back to the event loop') } : {}),
    });
  }
  const log = logger?.child({ module: 'postgres' });
  return PostgresStorage.open({ connectionString: config.databaseUrl, schema: config.databaseSchema, ...(log ? { logger: log } : {}) });
}

/**
 * Where file contents go: a directory under KNOCK_DATA_DIR, or PostgreSQL when DATABASE_URL is set (so several
 * processes share them without a shared disk).
 */
export async function openBlobs(config: KnockConfig, logger: Logger): Promise<Blobs> {
  if (config.databaseUrl === undefined) return LocalBlobs.open({ dir: path.join(config.dataDir, 'blobs'), logger: logger.child({ module: 'blobs' }) });
  return PostgresBlobs.open({ connectionString: config.databaseUrl, schema: config.databaseSchema, logger: logger.child({ module: 'blobs' }) });
}

/**
 * The conference server of this config (KNOCK_SFU, issue 23): mediasoup in this process, Janus, or none (calls stay
 * peer-to-peer up to the mesh limit). Unset: Janus when KNOCK_JANUS_URL is set (who runs Janus wants it), else
 * mediasoup when its worker is built (npm install builds it), else none.
 *
 * @example
 *   const router = await openMediaRouter(config, { clock, timers, logger }); // MediasoupRouter | JanusRouter | null
 */
export async function openMediaRouter(config: KnockConfig, deps: { clock: Clock; timers: Timers; logger: Logger }): Promise<MediaRouter | null> {
  const { clock, timers, logger } = deps;
  const choice = config.sfu ?? (config.janusUrl !== undefined ? 'janus' : MediasoupRouter.available() ? 'mediasoup' : 'none');
  if (choice === 'none') {
    if (config.sfu === undefined) logger.warn('no conference server: mediasoup\u2019s worker is not built (npm run sfu:worker); calls stay peer-to-peer');
    return null;
  }
  if (choice === 'janus') {
    if (config.janusUrl === undefined || config.janusPublicUrl === undefined) return null;
    return new JanusRouter({
      url: config.janusUrl,
      publicUrl: config.janusPublicUrl,
      adminKey: config.janusAdminKey,
      tokenSecret: config.janusTokenSecret,
      joinTtlMs: config.turnTtlMs,
      clock,
      logger: logger.child({ module: 'janus' }),
    });
  }
  if (!MediasoupRouter.available()) {
    throw new KnockError('bad_request', 'KNOCK_SFU is mediasoup but its worker is not built: run `npm run sfu:worker` (it says what is missing), or set KNOCK_SFU=janus or none.');
  }
  return MediasoupRouter.start({
    workers: config.mediasoupWorkers ?? os.availableParallelism(),
    rtcMinPort: config.rtcMinPort,
    rtcMaxPort: config.rtcMaxPort,
    listenIp: config.rtcListenIp,
    announcedIp: config.rtcAnnouncedIp,
    publicAddress: config.publicAddress,
    joinTtlMs: config.turnTtlMs,
    clock,
    timers,
    logger: logger.child({ module: 'mediasoup' }),
  });
}

export async function createKnock(config: KnockConfig, opts: { logger: Logger; clock?: Clock; timers?: Timers }): Promise<Knock> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
  if (config.redisUrl !== undefined && config.databaseUrl === undefined) {
    logger.warn('REDIS_URL is set without DATABASE_URL: every process must then use this same SQLite file, on this one machine');
  }
  const storage = await openStorage(config, logger);
  let coordination: Awaited<ReturnType<typeof openCoordination>>;
  let blobs: Blobs;
  try {
    blobs = await openBlobs(config, logger);
  } catch (err) {
    await storage.close();
    throw err;
  }
  try {
    coordination = await openCoordination(config.redisUrl, logger.child({ module: 'redis' }));
  } catch (err) {
    await blobs.close();
    await storage.close();
    throw err;
  }
  const { presence, driver } = coordination;
  const hub = new Hub(presence, { presenceTtlMs: config.presenceTtlMs, shared: coordination.kind === 'redis', logger: logger.child({ module: 'hub' }) });
  const auth = new Auth(storage, clock, config.sessionTtlMs);
  const accounts = new Accounts(storage, clock);
  // Account safety (issue 22): what happened to each account, for its owner (Settings → Audit log).
  const audit = new AuditLog({ storage, clock, logger: logger.child({ module: 'audit' }) });
  // Every sign-in opens its session here; sessions are listed and ended, their sockets closed at once (issue 22).
  const sessions = new Sessions({ storage, auth, audit, hub, clock });
  // The others' addresses are known once the matchmaker has a processId (below); until then, only this process's.
  let processAddresses: ProcessAddresses | null = null;
  // Issue 21: an owner's active domain serves their page; a page there is one of this server's.
  const domainHosts = new DomainHosts({ storage, logger: logger.child({ module: 'domains' }), refreshMs: DOMAIN_HOSTS_REFRESH_MS });
  await domainHosts.start();
  const isAllowedOrigin = originChecker(
    config.publicUrl,
    (origin) => processAddresses?.isPageOrigin(origin) ?? false,
    (host) => domainHosts.homeOf(host) !== null,
  );
  const secureCookies = config.secureCookies ?? (config.tls === 'acme' || (config.publicUrl?.startsWith('https:') ?? false));
  let ready = false;

  // Every event of every conversation enters through it, from rooms and HTTP alike (engine/conversationLog.ts).
  const conversationLog = new ConversationLog({ storage, hub, clock, timers, logger: logger.child({ module: 'conversations' }), summaryDelayMs: SUMMARY_DELAY_MS, summaryIntervalMs: SUMMARY_INTERVAL_MS });
  // One login throttle for the console's login and the mail devices' (a device login is a login).
  const logins = new LoginThrottle(config.rateLimits, clock, timers);
  // Issue 22: blocked visitors, refused at the knock, in their conversation's room and at uploads.
  const blocks = new VisitorBlocks({ storage, audit, clock, logger: logger.child({ module: 'blocks' }) });
  // Two-factor sign-in (issue 22): its tickets and WebAuthn challenges are in storage, so any process answers them.
  const challenges = new Challenges({ storage, clock });
  const passkeys = new Passkeys({ storage, clock, challenges });
  const secondFactor = new SecondFactor({ storage, clock, audit, challenges, passkeys, tries: config.rateLimits.secondFactorTries });
  const loginTickets = new LoginTickets({ storage, secondFactor, challenges, passkeys });
  const secondFactorApi = new SecondFactorApi({ storage, auth, sessions, audit, secondFactor, tickets: loginTickets, passkeys, logins, clock, config, secureCookies });
  const api = new Api({
    storage, auth, accounts, audit, sessions, hub, conversationLog, clock, logins, config, secureCookies, blocks,
    secondFactorDue: (account, req) => secondFactorApi.due(account, req),
  });
  const files = new Files({
    storage,
    blobs,
    clock,
    logger: logger.child({ module: 'files' }),
    limits: { maxUploadBytes: config.maxUploadBytes, maxFilesPerMessage: config.maxFilesPerMessage, ownerQuotaBytes: config.ownerQuotaBytes },
  });
  const conversationsApi = new ConversationsApi({
    storage,
    auth,
    files,
    blobs,
    conversationLog,
    hub,
    clock,
    logger: logger.child({ module: 'files' }),
    uploadsPerIp: config.rateLimits.uploadsPerIp,
    maxBodyBytes: config.maxBodyBytes,
    blocks,
    audit,
    trustProxy: config.trustProxy,
  });
  // Uploads never attached to a message go after a day (checked hourly, and once at start).
  const purgeUploads = () => void files.purgeUnattached().catch((err: unknown) => logger.error({ err }, 'could not purge unattached uploads'));
  const uploadPurge = setInterval(purgeUploads, UPLOAD_PURGE_INTERVAL_MS);
  uploadPurge.unref();
  const matchmaking = new Matchmaking({
    joinOrCreate: (roomName, options, authContext) => matchMaker.joinOrCreate(roomName, options, authContext as unknown as AuthContext),
    roomNames: new Set(Object.values(ROOM_TYPES)),
    isAllowedOrigin,
    rate: config.rateLimits.matchmakesPerIp,
    clock,
    logger: logger.child({ module: 'matchmaking' }),
    isReady: () => ready,
  });
  // Email (issue 17): the outbox sends what Mail queues; the SMTP server hands what comes in to Mail.
  const mailDomain = mailDomainOf(config);
  const outbox = new Outbox({
    storage,
    clock,
    timers,
    logger: logger.child({ module: 'outbox' }),
    // Names this process's leases in the outbox table (several processes may share it).
    worker: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    retryBaseMs: config.outboxRetryBaseMs,
    maxAttempts: config.outboxMaxAttempts,
    leaseMs: config.outboxLeaseMs,
    pollMs: config.outboxPollMs,
  });
  const relay =
    config.smtpRelayUrl === undefined
      ? null
      : new SmtpRelay({
          url: config.smtpRelayUrl,
          heloName: mailDomain,
          logger: logger.child({ module: 'relay' }),
          ...(config.dkimSelector !== undefined && config.dkimKeyFile !== undefined ? { dkim: { domain: mailDomain, selector: config.dkimSelector, keyFile: config.dkimKeyFile } } : {}),
        });
  const mail = new Mail({
    storage,
    blobs,
    files,
    log: conversationLog,
    outbox,
    hub,
    clock,
    logger: logger.child({ module: 'mail' }),
    domain: mailDomain,
    publicUrl: () => (config.publicUrl ?? url).replace(/\/$/, ''),
    relay,
    compose: composeMail,
    notifyIntervalMs: config.notifyIntervalMs,
    visitorMailDelayMs: config.visitorMailDelayMs,
    domainHome: (domain) => domainHosts.homeOf(domain),
    blocks,
  });
  outbox.onChange((job) => mail.publishDelivery(job));
  // Issue 19: a conversation's transcript by email, through the same outbox and relay.
  const transcripts = new Transcripts({ storage, outbox, relay, clock, domain: mailDomain });
  // Issue 22: the password's change and recovery, their notices and links by mail.
  new SecurityMail({ storage, outbox, relay, clock, domain: mailDomain, publicUrl: () => (config.publicUrl ?? url).replace(/\/$/, '') });
  const passwords = new Passwords({
    storage,
    accounts,
    sessions,
    audit,
    logins,
    recoveriesPerAccount: new KeyedRateLimiter(config.rateLimits.recoveriesPerAccount, clock),
    enqueue: (job) => outbox.enqueue(job),
    clock,
    logger: logger.child({ module: 'passwords' }),
  });
  const securityApi = new SecurityApi({
    auth, sessions, passwords, audit, clock, recoveriesPerIp: config.rateLimits.recoveriesPerIp, trustProxy: config.trustProxy, secureCookies,
  });
  // --- issue 18: forwarding to the owner's other channels ------------------------------------------------------------
  const publicUrl = (): string => (config.publicUrl ?? url).replace(/\/$/, '');
  const channels: Partial<Record<ChannelKind, Channel>> = {
    webhook: new WebhookChannel({
      publicUrl,
      secretsOf: (channel) => (channel.secret === null ? [] : (JSON.parse(channel.secret) as string[])),
      logger: logger.child({ module: 'webhook' }),
      clock,
      allowHttp: config.channelsAllowPrivate,
      allowPrivateNetworks: config.channelsAllowPrivate,
    }),
  };
  if (relay) channels.email = new EmailForwardChannel({ relay: () => relay, domain: mailDomain, replyAddressOf: (id) => mail.ownerReplyAddress(id) });
  // Web push: the VAPID key pair is made by the first process that starts and shared by all (Storage.serverValue).
  const vapid = vapidKeysFromStored(await storage.serverValue('push.vapid', storedVapidKeys(makeVapidKeys())));
  const privateChannels = { allowHttp: config.channelsAllowPrivate, allowPrivateNetworks: config.channelsAllowPrivate };
  channels.push = new WebPushChannel({ vapid: { ...vapid, subject: `mailto:postmaster@${mailDomain}` }, logger: logger.child({ module: 'push' }), clock, ...privateChannels });
  let sms: SmppChannel | null = null;
  if (config.smppUrl !== undefined && config.smppSystemId !== undefined && config.smppPassword !== undefined && config.smsNumber !== undefined) {
    sms = new SmppChannel({
      url: config.smppUrl,
      systemId: config.smppSystemId,
      password: config.smppPassword,
      sourceNumber: config.smsNumber,
      throughputPerSecond: config.smsPerSecond,
      logger: logger.child({ module: 'smpp' }),
    });
    sms.start();
    channels.sms = sms;
  }
  if (config.xmppService !== undefined && config.xmppJid !== undefined && config.xmppPassword !== undefined) {
    const xmpp = new XmppChannel({ service: config.xmppService, jid: config.xmppJid, password: config.xmppPassword, logger: logger.child({ module: 'xmpp' }), clock });
    // Connects in the background and keeps reconnecting; until it is online, XMPP presence is "unknown" (tried in place).
    void xmpp.start();
    channels.xmpp = xmpp;
  }
  const forwarding = new Forwarding({
    storage, log: conversationLog, outbox, hub, channels, clock, logger: logger.child({ module: 'forwarding' }), publicUrl, routedElsewhere: sms ? ['sms'] : [],
  });
  // --- issue 20: SMS conversations (phones without internet, the owner's number while their phone is off) ----------
  if (sms) {
    const smsLogger = logger.child({ module: 'sms' });
    const { smsConversationsPerPhone, smsTextsPerPhone, smsRepliesPerPhone, smsConversationsPerOwner } = config.rateLimits;
    const outbound = new SmsOutbound({ storage, log: conversationLog, outbox, sender: sms, forwarding, clock, logger: smsLogger, repliesPerPhone: smsRepliesPerPhone });
    const gateway = new SmsGateway({
      storage, log: conversationLog, forwarding, outbound, sender: sms, clock, logger: smsLogger, publicUrl,
      limits: { conversationsPerPhone: smsConversationsPerPhone, textsPerPhone: smsTextsPerPhone, conversationsPerOwner: smsConversationsPerOwner },
    });
    sms.onText(async (text) => void (await gateway.inbound(text)));
    sms.onReceipt(async (receipt) => {
      await forwarding.receipt(receipt);
      await outbound.receipt(receipt);
    });
  }
  mail.onOwnerReply((text) => forwarding.inbound(text));
  const channelsApi = new ChannelsApi({
    storage,
    auth,
    forwarding,
    clock,
    rateLimits: config.rateLimits,
    maxBodyBytes: config.maxBodyBytes,
    allowPrivate: config.channelsAllowPrivate,
    pushSubscription: (subscription) => storedSubscription(parseSubscription(subscription, privateChannels)),
    vapidPublicKey: vapid.publicKey,
  });
  const inbound =
    config.smtpPort < 0
      ? null
      : new SmtpInbound({
          handler: mail,
          logger: logger.child({ module: 'smtp' }),
          clock,
          mailDomain,
          host: config.smtpHost,
          port: config.smtpPort,
          ...(config.smtpTlsCertFile !== undefined && config.smtpTlsKeyFile !== undefined ? { tls: { certFile: config.smtpTlsCertFile, keyFile: config.smtpTlsKeyFile } } : {}),
          maxMailBytes: config.maxMailBytes,
          maxRecipients: config.maxMailRecipients,
          bufferBytes: config.mailBufferBytes,
          maxConnectionsPerIp: config.maxMailConnectionsPerIp,
          connectionsPerIp: config.rateLimits.mailConnectionsPerIp,
          mailsPerIp: config.rateLimits.mailsPerIp,
          // A stop waits this long for mails being received (a sender retries whatever is cut), within the stop's bound.
          closeTimeoutMs: Math.min(3000, Math.floor(config.shutdownTimeoutMs / 3)),
        });
  let mailPort: number | null = null;
  // Issue 21: Knock as the authoritative DNS of owners' active domains.
  const dns = openDnsServer(config, { storage, clock, logger: logger.child({ module: 'dns' }) });
  let dnsPort: number | null = null;
  // --- issue 17: email over HTTP -----------------------------------------------------------------------------------
  const mailPages = new MailPages({ storage, clock, mailLinksPerIp: config.rateLimits.mailLinksPerIp, assetsDir: config.assetsDir ?? defaultAssetsDir });
  const mailApi = new MailApi({
    storage, auth, mail, files, blobs, conversationLog, logins, clock, rateLimits: config.rateLimits, maxBodyBytes: config.maxBodyBytes,
    secondFactor, trustProxy: config.trustProxy,
  });
  // --- issue 19: companies (the CLI's and Settings → Company's one way to change them) ----------------------------
  const companies = new Companies({ storage, accounts, clock, mailDomain });
  const companyApi = new CompanyApi({ storage, auth, companies, clock, hub, joinsPerIp: config.rateLimits.loginsPerIp, publicUrl: config.publicUrl, secure: secureCookies });
  const transcriptApi = new TranscriptApi({ storage, auth, transcripts, clock });
  // --- issue 20: phone numbers as URLs (a code by SMS claims one) -------------------------------------------------
  const smsSender = sms;
  const phones = new PhoneNumbers({
    storage,
    clock,
    logger: logger.child({ module: 'phones' }),
    sendCode: smsSender ? async (to, code) => void (await smsSender.sendText(to, phoneCodeText(code))) : null,
    limits: {
      perAccount: new KeyedRateLimiter(config.rateLimits.phoneCodesPerAccount, clock),
      perNumber: new KeyedRateLimiter(config.rateLimits.phoneCodesPerNumber, clock),
    },
  });
  const phoneApi = new PhoneApi({ storage, auth, phones });
  // --- issue 21: own domains (pending until delegated to Knock's name servers; checked every domainCheckIntervalMs) -
  const domains = new Domains({
    storage,
    clock,
    logger: logger.child({ module: 'domains' }),
    nameservers: config.dnsNameservers,
    resolveNs: resolverNs(config.dnsCheckResolver),
    reserved: ownNames(config),
    onChange: () => domainHosts.refresh(),
  });
  const domainsApi = new DomainsApi({ storage, auth, domains, clock });
  // --- issue 22: blocked visitors, and an account's own data (export, deletion) ---------------------------------------
  const blocksApi = new BlocksApi({ storage, auth, blocks, clock, trustProxy: config.trustProxy });
  const accountDataApi = new AccountDataApi({
    storage,
    auth,
    secondFactor,
    exporter: new AccountExport({ storage, blobs, clock, logger: logger.child({ module: 'export' }) }),
    removal: new AccountRemoval({ storage, blobs, hub, logger: logger.child({ module: 'accounts' }) }),
    audit,
    logins,
    clock,
    logger: logger.child({ module: 'accounts' }),
    trustProxy: config.trustProxy,
    secureCookies,
  });
  const domainChecks = config.dnsNameservers.length === 0 ? null : setInterval(() => {
    domains.checkPending().catch((err: unknown) => logger.warn({ err }, 'the check of pending domains failed'));
  }, config.domainCheckIntervalMs);
  domainChecks?.unref();
  // ------------------------------------------------------------------------------------------------------------------
  const http_ = new HttpHandler({
    api,
    conversationsApi,
    mailPages,
    mailApi,
    channelsApi,
    companyApi,
    transcriptApi,
    phoneApi,
    domainsApi,
    securityApi,
    blocksApi,
    accountDataApi,
    secondFactorApi,
    matchmaking,
    storage,
    logger: logger.child({ module: 'http' }),
    assetsDir: config.assetsDir ?? defaultAssetsDir,
    trustProxy: config.trustProxy,
    hsts: secureCookies,
    isAllowedOrigin,
    isReady: () => ready,
    // Browsers open Janus's WebSocket API themselves (calls of three or more): the page must be allowed to.
    connectSources: config.janusPublicUrl === undefined ? [] : [new URL(config.janusPublicUrl).origin.replace(/^http/, 'ws')],
    // Pages open room sockets at whichever process holds the room.
    processSources: async () => (await processAddresses?.connectSources()) ?? [],
    homeOf: (host) => domainHosts.homeOf(host),
  });
  // Per-address caps on sockets and Node's request timeouts (engine/http/connectionLimits.ts).
  const connectionLimits = new ConnectionLimits(config, logger.child({ module: 'connections' }));
  // Issue 21, TLS by itself: HTTPS with certificates from storage by SNI, a plain listener for ACME and redirects,
  // and this process's share of the renewals (engine/tls.ts, engine/certificates.ts, adapters/acme/).
  const tlsFront = config.tls === 'acme' ? await TlsFront.open({ storage, clock, logger: logger.child({ module: 'tls' }), config }) : null;
  const httpServer = tlsFront ? tlsFront.createServer(connectionLimits.serverOptions, http_.listener) : http.createServer(connectionLimits.serverOptions, http_.listener);
  connectionLimits.attach(httpServer);
  const plainServer = tlsFront && config.httpPort >= 0 ? tlsFront.createPlainServer(connectionLimits.serverOptions) : null;
  if (plainServer) connectionLimits.attach(plainServer);
  const certificates = tlsFront ? openCertificates(config, { storage, clock, timers, logger }) : null;
  certificates?.onIssued((name) => tlsFront?.forget(name));
  let httpPort: number | null = null;
  const transport = new LivenessTransport({
    server: httpServer,
    maxPayload: config.maxFrameBytes,
    pingInterval: config.pingIntervalMs,
    idlePingInterval: config.idlePingIntervalMs,
    pingMaxRetries: 1,
    verifyClient: connectionLimits.webSocketVerifier((info) => isAllowedOrigin(info.origin || undefined, info.req.headers.host)),
  });
  const colyseusLog = logger.child({ module: 'colyseus' });
  const gameServer = new Server({
    transport,
    presence,
    driver,
    // Room sockets go to `ws(s)://<publicAddress>/<processId>/<roomId>`: the one process holding the room.
    ...(config.publicAddress !== undefined ? { publicAddress: config.publicAddress } : {}),
    // A new room is made by the process that matched its first client, not by the one Colyseus's room counts
    // (persisted once a second at best) say is emptiest: no extra hop between processes at creation, load follows
    // the load balancer's spread, and after a crash no creation is first sent to the dead process (2 s lost).
    selectProcessIdToCreateRoom: async () => matchMaker.processId,
    gracefullyShutdown: false,
    greet: false,
    logger: {
      debug: (...args: unknown[]) => colyseusLog.debug(args.map(String).join(' ')),
      info: (...args: unknown[]) => colyseusLog.info(args.map(String).join(' ')),
      warn: (...args: unknown[]) => colyseusLog.warn(args.map(String).join(' ')),
      // Colyseus prints every error a room throws while being created or joined with its stack; a KnockError there
      // is a refusal by design (a room whose scope another room holds: the client tries again), not a fault.
      error: (...args: unknown[]) => {
        const text = args.map(String).join(' ');
        if (text.startsWith('KnockError: ')) colyseusLog.debug(text.split('\n')[0]!);
        else colyseusLog.error(text);
      },
    },
  });
  // Colyseus put its own matchmaking route in front of ours (any URL containing "/matchmake", no body limit, every
  // method it exposes): take it out. Knock serves matchmaking itself (engine/http/matchmaking.ts).
  httpServer.removeAllListeners('request');
  httpServer.on('request', http_.listener);
  let claims: RoomClaims;
  let mediaRouter: MediaRouter | null;
  try {
    claims = await coordination.openClaims(matchMaker.processId, config.presenceTtlMs);
    processAddresses = new ProcessAddresses({
      hub,
      clock,
      processId: matchMaker.processId,
      own: config.publicAddress,
      refreshMs: hub.presenceRefreshMs,
      logger: logger.child({ module: 'addresses' }),
    });
    await processAddresses.start();
    mediaRouter = await openMediaRouter(config, { clock, timers, logger });
  } catch (err) {
    // Nothing listens yet: close what was opened (as when coordination itself fails to open).
    await processAddresses?.close();
    presence.shutdown();
    await driver.shutdown();
    clearInterval(uploadPurge);
    await blobs.close();
    await storage.close();
    throw err;
  }


  const ice = new IceServerIssuer({ iceServers: config.iceServers, turnSecret: config.turnSecret, turnTtlMs: config.turnTtlMs, iceTransportPolicy: config.iceTransportPolicy }, clock);
  // Conferences on mediasoup (issue 23): this process is their signalling server, on its own path of the HTTP server.
  const sfuSignalling =
    mediaRouter instanceof MediasoupRouter
      ? new SfuSignalling({
          router: mediaRouter,
          verifyClient: connectionLimits.webSocketVerifier((info) => isAllowedOrigin(info.origin || undefined, info.req.headers.host)),
          rate: config.rateLimits.sfuRequests,
          clock,
          logger: logger.child({ module: 'sfu' }),
        })
      : null;
  if (sfuSignalling) routeUpgrades(httpServer, sfuSignalling);
  const watchClosely: RoomDeps['watchClosely'] = (client) => transport.watchClosely(client);
  const writes = new WriteCoalescer();
  const roomDeps: RoomDeps = { storage, conversationLog, files, hub, auth, clock, timers, logger, config, ice, mediaRouter, claims, isAllowedOrigin, watchClosely, writes, blocks };
  const handlers = [
    gameServer.define(ROOM_TYPES.user, userRoomClass(roomDeps)).filterBy(['handle']),
    gameServer.define(ROOM_TYPES.conversation, conversationRoomClass(roomDeps)).filterBy(['conversationId']),
    gameServer.define(ROOM_TYPES.doc, docRoomClass(roomDeps)).filterBy(['docId']),
    gameServer.define(ROOM_TYPES.game, gameRoomClass(roomDeps)).filterBy(['gameId']),
    gameServer.define(ROOM_TYPES.site, siteRoomClass(roomDeps)).filterBy(['handle']),
  ];
  const rooms = new LocalRooms();
  for (const handler of handlers) handler.on('create', (room: unknown) => rooms.add(room as KnockRoom));
  // Colyseus calls this first when it shuts down, before its own wait for rooms and before closing the transport,
  // the presence and the driver, which the rooms' last writes may still use.
  // The log's last summaries follow the rooms' last writes, and go out while the presence is still open.
  gameServer.onBeforeShutdown(async () => {
    await rooms.closeAll();
    await conversationLog.close();
  });
  // Sockets whose session ends without a word to this process (CLI, expiry) are closed (engine/sessionWatch.ts).
  const { sessionCheckIntervalMs: checkIntervalMs, sessionPurgeIntervalMs: purgeIntervalMs } = config;
  const sessionWatch = new SessionWatch({ storage, clock, logger: logger.child({ module: 'sessions' }), checkIntervalMs, purgeIntervalMs });
  sessionWatch.followRooms(handlers);
  // Live help (issue 19): monitored visitors' page views go after KNOCK_PAGEVIEW_RETENTION_DAYS (checked hourly).
  const pageViewRetention = new Retention({
    what: 'page views',
    purge: (before) => storage.purgePageViews(before),
    clock,
    logger: logger.child({ module: 'pageviews' }),
    retentionDays: config.pageViewRetentionDays,
  });
  const auditRetention = new Retention({
    what: 'audit log entries',
    purge: (before) => storage.purgeAudit(before),
    clock,
    logger: logger.child({ module: 'audit' }),
    retentionDays: config.auditRetentionDays,
  });

  let url = '';
  let closed: Promise<void> | null = null;
  let step = 'running';
  return {
    storage,
    audit,
    accounts,
    companies,
    get url() {
      return url;
    },
    get mailPort() {
      return mailPort;
    },
    get dnsPort() {
      return dnsPort;
    },
    get httpPort() {
      return httpPort;
    },
    certificates,
    domainHosts,
    async listen() {
      await gameServer.listen(tlsFront ? config.httpsPort : config.port, config.host);
      const address = httpServer.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      url = `${tlsFront ? 'https' : 'http'}://${host}:${port}`;
      if (plainServer) httpPort = await listenOn(plainServer, config.httpPort, config.host);
      certificates?.start();
      sessionWatch.start();
      purgeUploads();
      pageViewRetention.start();
      auditRetention.start();
      if (inbound) mailPort = (await inbound.listen()).port;
      if (dns) dnsPort = (await dns.listen()).port;
      outbox.start();
      forwarding.start().catch((err: unknown) => logger.error({ err }, 'could not follow the owners\u2019 XMPP presence'));
      ready = true;
      logger.info(
        {
          url,
          storage: config.databaseUrl === undefined ? { sqlite: config.dataDir } : { postgresql: redactUrl(config.databaseUrl), schema: config.databaseSchema },
          coordination: coordination.kind,
          publicAddress: config.publicAddress,
          tls: tlsFront ? { httpPort, acme: config.acmeDirectory, challenge: config.acmeChallenge } : null,
          dns: dnsPort === null ? null : { port: dnsPort, nameservers: config.dnsNameservers, publicIps: config.publicIps },
          mail: { domain: mailDomain, smtpPort: mailPort, relay: config.smtpRelayUrl === undefined ? null : redactUrl(config.smtpRelayUrl), dkim: config.dkimSelector ?? null },
          calls: { sfu: mediaRouter?.provider ?? null, iceServers: config.iceServers.length, turn: config.turnSecret !== undefined },
          processId: matchMaker.processId,
        },
        'Knock is listening',
      );
    },
    close() {
      closed ??= (async () => {
        ready = false;
        sessionWatch.close();
        if (domainChecks) clearInterval(domainChecks);
        domainHosts.close();
        plainServer?.close();
        tlsFront?.close();
        await certificates?.close();
        step = 'rooms';
        // No new connections from here: clients told to reconnect come back to the next process (or, scaled out,
        // to another one), not to rooms of this one that would hold the stop. Idle keep-alive connections close.
        httpServer.close();
        // No more mail in: what is being received finishes (bounded).
        step = 'mail';
        await inbound?.close();
        await dns?.close();
        step = 'rooms';
        // Rooms first (their last writes go to storage and presence), then the transport, the presence and the
        // driver: Colyseus shuts those down itself, closing the Redis connections when scaled out.
        await processAddresses?.close();
        await gameServer.gracefullyShutdown(false);
        await claims.close();
        step = 'conference server';
        // After the rooms: ending their calls closed the conference rooms.
        sfuSignalling?.close();
        await mediaRouter?.close();
        httpServer.closeAllConnections();
        plainServer?.closeAllConnections();
        step = 'outbox';
        // Mail being sent now finishes or, bounded, is left to the next start (its lease runs out).
        forwarding.close();
        await passwords.idle();
        await outbox.close();
        for (const channel of Object.values(channels)) await channel.close();
        await relay?.close();
        step = 'storage';
        clearInterval(uploadPurge);
        await pageViewRetention.close();
        await auditRetention.close();
        await blobs.close();
        await storage.close();
        step = 'stopped';
        logger.info('Knock stopped');
      })();
      return closed;
    },
    pending() {
      return { step, rooms: rooms.pending() };
    },
  };
}

/** The renewal loop of this process with its ACME issuer (KNOCK_ACME_*). */
function openCertificates(config: KnockConfig, deps: { storage: Storage; clock: Clock; timers: Timers; logger: Logger }): Certificates {
  const log = deps.logger.child({ module: 'acme' });
  const issuer = new AcmeIssuer({
    storage: deps.storage,
    clock: deps.clock,
    logger: log,
    directoryUrl: config.acmeDirectory,
    ...(config.acmeEmail !== undefined ? { email: config.acmeEmail } : {}),
    ...(config.acmeCaFile !== undefined ? { caPem: readFileSync(config.acmeCaFile, 'utf8') } : {}),
    challenge: config.acmeChallenge,
    // The DNS server answers from what it read up to dnsCacheMs ago.
    dnsSettleMs: config.dnsCacheMs + 200,
  });
  return new Certificates({
    storage: deps.storage,
    issuer,
    clock: deps.clock,
    timers: deps.timers,
    logger: log,
    worker: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    renewBeforeMs: config.acmeRenewBeforeMs,
    retryMinMs: config.acmeRetryMinMs,
    retryMaxMs: config.acmeRetryMaxMs,
    pollMs: config.acmePollMs,
    leaseMs: 10 * 60_000,
  });
}

/**
 * Sends upgrades to the conference signalling path to it, and every other one to the rooms' sockets (Colyseus's
 * WebSocket server, which would otherwise take and refuse them: it handles every path).
 */
function routeUpgrades(server: http.Server, sfu: SfuSignalling): void {
  const rooms = server.listeners('upgrade') as ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (sfu.handles(req)) sfu.upgrade(req, socket, head);
    else for (const listener of rooms) listener.call(server, req, socket, head);
  });
}

/** Listens and resolves to the port taken (port 0: a free one). */
function listenOn(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
