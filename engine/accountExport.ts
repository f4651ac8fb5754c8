/**
 * "Export my data" (issue 22): one zip of everything Knock keeps of an account, written as it is read, so neither a
 * long history nor large files are ever whole in memory (yazl takes each entry's stream only when its turn comes):
 *
 *   README.txt                                    what is in it
 *   account.json                                  profile, email, phone, domains, channels, forwarding, companies,
 *                                                 mail devices, blocked visitors: no password hash, no secret, no token
 *   conversations/<id>.json                       each conversation: who (as names), every message and event
 *   files/<conversation id>/<file id>-<name>      the files sent in it, streamed from Blobs
 *   audit.json                                    the account's audit log
 *
 * Only the account's own records are read: its conversations by its id, their files by conversation, so another
 * account's name for the same bytes (a shared blob) never appears.
 *
 * @example
 *   const exporter = new AccountExport({ storage, blobs, clock, logger });
 *   await pipeline(exporter.zip(account), res);
 */
import { Readable } from 'node:stream';
import yazl from 'yazl';
import type { Logger } from './logger.ts';
import type { Blobs } from './ports/blobs.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, Storage, StoredFile } from './ports/storage.ts';
import { limits } from './protocol.ts';

/** Messages read per query while a conversation is written out. */
const MESSAGE_PAGE = limits.pageSize;
/** Audit entries read per query. */
const AUDIT_PAGE = 500;

const README = `This is everything Knock keeps of your account, as of the time this file was made.

account.json
  Your profile (handle, name), your email address, phone number, own domains, the channels knocks are
  forwarded to and how, the companies you work for, your mail devices (names only) and the visitors you
  blocked. No password, no secret key and no token is in it.

conversations/<conversation id>.json
  One file per conversation: when it started, who was in it (by name), and every message and event in
  order (text, files, calls, documents, games, email), with the time it was stored.

files/<conversation id>/<file id>-<file name>
  The files sent in each conversation, as they were uploaded.

audit.json
  Your account's audit log: sign-ins, their failures, changes to your account's safety, newest first.

Times are milliseconds since 1970-01-01 UTC. Documents written together in a conversation are named by
their card in it; their text is in the conversation, as you see it there.
`;

export interface AccountExportDeps {
  storage: Pick<
    Storage,
    | 'getAccountEmail' | 'phoneNumberOf' | 'domainsOf' | 'listChannels' | 'getForwardingSettings' | 'companiesOf' | 'getCompany' | 'listDeviceTokens'
    | 'listVisitorBlocks' | 'conversationIdsOf' | 'getConversation' | 'getParticipants' | 'messagesAfter' | 'filesOf' | 'listAudit'
  >;
  blobs: Pick<Blobs, 'get'>;
  clock: Clock;
  logger: Pick<Logger, 'error'>;
}

export class AccountExport {
  constructor(private readonly deps: AccountExportDeps) {}

  /** The zip, as a stream of bytes; a failure while it is written ends the stream with the error (and is logged). */
  zip(account: Account): Readable {
    const zip = new yazl.ZipFile();
    const out = zip.outputStream as Readable;
    this.fill(zip, account).catch((err: unknown) => {
      this.deps.logger.error({ err, accountId: account.id }, 'could not export an account');
      out.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    return out;
  }

  /** The name the download is saved as. */
  fileName(account: Account): string {
    return `knock-${account.handle}-${new Date(this.deps.clock.now()).toISOString().slice(0, 10)}.zip`;
  }

  private async fill(zip: yazl.ZipFile, account: Account): Promise<void> {
    const mtime = new Date(this.deps.clock.now());
    zip.addBuffer(Buffer.from(README), 'README.txt', { mtime });
    zip.addBuffer(Buffer.from(`${JSON.stringify(await this.accountJson(account), null, 2)}\n`), 'account.json', { mtime });
    for (const conversationId of await this.deps.storage.conversationIdsOf(account.id)) {
      zip.addReadStreamLazy(`conversations/${conversationId}.json`, { mtime }, (cb) => cb(null, Readable.from(this.conversationJson(conversationId))));
      for (const file of await this.deps.storage.filesOf(conversationId)) {
        // Uploads never sent are drafts that go within a day: what was sent is what the conversation shows.
        if (file.messageSeq === null) continue;
        zip.addReadStreamLazy(`files/${conversationId}/${file.id}-${entryName(file.name)}`, { mtime: new Date(file.createdAt), compress: false }, (cb) => {
          this.blobStream(file).then((stream) => cb(null, stream), (err: unknown) => cb(err instanceof Error ? err : new Error(String(err)), Readable.from([])));
        });
      }
    }
    zip.addReadStreamLazy('audit.json', { mtime }, (cb) => cb(null, Readable.from(this.auditJson(account.id))));
    zip.end();
  }

  private async accountJson(account: Account): Promise<unknown> {
    const { storage } = this.deps;
    const [email, phone, domains, channels, forwarding, companies, company, devices, blocks] = await Promise.all([
      storage.getAccountEmail(account.id),
      storage.phoneNumberOf(account.id),
      storage.domainsOf(account.id),
      storage.listChannels(account.id),
      storage.getForwardingSettings(account.id),
      storage.companiesOf(account.id),
      storage.getCompany(account.id),
      storage.listDeviceTokens(account.id),
      storage.listVisitorBlocks(account.id),
    ]);
    return {
      handle: account.handle,
      displayName: account.displayName,
      createdAt: account.createdAt,
      company: company !== null,
      email: email ? { address: email.address, verified: email.verifiedAt !== null } : null,
      phone: phone ? { number: phone.number, claimedAt: phone.claimedAt } : null,
      domains: domains.map((d) => ({ name: d.name, state: d.state, createdAt: d.createdAt, activatedAt: d.activatedAt })),
      // A push subscription's endpoint is a capability of the browser's push service: named, not given.
      channels: channels.map((c) => ({ kind: c.kind, address: c.kind === 'push' ? 'a browser of yours (web push)' : c.address, verified: c.verified, delayMs: c.delayMs })),
      forwarding,
      companies: companies.map(({ company: c, role }) => ({ handle: c.handle, displayName: c.displayName, role })),
      mailDevices: devices.map((d) => ({ name: d.name, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt })),
      blockedVisitors: blocks.map((b) => ({ visitorName: b.visitorName, conversationId: b.conversationId, blockedAt: b.createdAt, addressBlockedUntil: b.addressUntil })),
    };
  }

  /** One conversation as JSON text, a page of messages at a time. */
  private async *conversationJson(conversationId: string): AsyncGenerator<Buffer> {
    const { storage } = this.deps;
    const conversation = await storage.getConversation(conversationId);
    if (!conversation) {
      yield Buffer.from('null\n'); // deleted while the export was being written
      return;
    }
    const participants = await storage.getParticipants(conversationId);
    const head = {
      id: conversation.id,
      kind: conversation.kind,
      subject: conversation.subject,
      createdAt: conversation.createdAt,
      visitorEmail: conversation.visitorEmail,
      startedOn: conversation.startedOn,
      participants: participants.map((p) => ({ role: p.role, name: p.name })),
    };
    yield Buffer.from(`${JSON.stringify(head, null, 2).slice(0, -2)},\n  "messages": [`);
    let after = 0;
    let first = true;
    for (;;) {
      const page = await storage.messagesAfter(conversationId, after, MESSAGE_PAGE);
      if (page.length === 0) break;
      const lines = page.map((m) => JSON.stringify({ seq: m.seq, at: m.at, from: m.senderName, role: m.senderRole, body: m.body, event: m.event }));
      yield Buffer.from(`${first ? '\n    ' : ',\n    '}${lines.join(',\n    ')}`);
      first = false;
      after = page.at(-1)!.seq;
    }
    yield Buffer.from(`${first ? '' : '\n  '}]\n}\n`);
  }

  private async *auditJson(accountId: string): AsyncGenerator<Buffer> {
    yield Buffer.from('[');
    let before: number | undefined;
    let first = true;
    for (;;) {
      const page = await this.deps.storage.listAudit(accountId, { limit: AUDIT_PAGE, ...(before === undefined ? {} : { before }) });
      if (page.length === 0) break;
      const lines = page.map((e) => JSON.stringify({ at: e.at, kind: e.kind, ip: e.ip, userAgent: e.userAgent, detail: e.detail }));
      yield Buffer.from(`${first ? '\n  ' : ',\n  '}${lines.join(',\n  ')}`);
      first = false;
      before = page.at(-1)!.id;
    }
    yield Buffer.from(`${first ? '' : '\n'}]\n`);
  }

  /** The file's bytes; an empty entry when its blob went meanwhile (the file was deleted while the zip was written). */
  private async blobStream(file: StoredFile): Promise<Readable> {
    return (await this.deps.blobs.get(file.blobId)) ?? Readable.from([]);
  }
}

/** A file's name as a zip entry's last part: no path separators, no control characters (names are made safe on upload). */
function entryName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = name.replace(/[\\/\u0000-\u001f\u007f]/g, '_').replace(/^\.+$/, '_');
  return safe === '' ? 'file' : safe;
}
