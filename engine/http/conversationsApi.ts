/**
 * Conversations over HTTP (issue 16): uploading files into a conversation (its members), downloading them (its
 * members), and the owner's inbox (search, filters, archive, mark unread, delete). Checks first, then does
 * (CONVENTIONS 7); a non-member learns nothing about what exists (404 whatever the reason). Members are those
 * engine/http/requesters.ts says (the owner's mail devices among them, for `npx knock mail send`); the inbox's
 * actions are the console's (its session cookie only), a company's operators' included (the acting-account header).
 *
 *   POST   /_/api/conversations/<id>/files      multipart, one part `file`         -> 201 FileRef
 *   GET    /_/api/conversations?q=&filter=      the owner's inbox                  -> InboxAnswer
 *   POST   /_/api/conversations/<id>/archive    { archived }                       -> ConversationSummary
 *   POST   /_/api/conversations/<id>/unread                                        -> ConversationSummary
 *   DELETE /_/api/conversations/<id>                                               -> 204
 *   GET    /_/files/<fileId>/<name>             the file, as an attachment (Range)
 *   GET    /_/files/<fileId>/thumb              an image's thumbnail, inline
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Auth } from '../auth.ts';
import type { ConversationLog } from '../conversationLog.ts';
import { KnockError } from '../errors.ts';
import { fileTooLarge, type Files } from '../files.ts';
import type { Hub } from '../hub.ts';
import type { Logger } from '../logger.ts';
import type { Blobs } from '../ports/blobs.ts';
import type { Clock } from '../ports/clock.ts';
import type { Conversation, Storage, StoredFile } from '../ports/storage.ts';
import { archiveBody, describeIssues, inboxQuery, type InboxAnswer } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { RateLimitConfig } from '../config.ts';
import { readJson, sendJson } from './io.ts';
import type { RequestInfo } from './api.ts';
import { Requesters } from './requesters.ts';
import { auditContextOf, type AuditLog } from '../auditLog.ts';
import type { VisitorBlocks } from '../visitorBlocks.ts';

/** Multipart headers and boundaries around one file: allowed on top of the file's own limit. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const INBOX_PAGE = 200;

export interface ConversationsApiDeps {
  storage: Storage;
  auth: Auth;
  files: Files;
  blobs: Blobs;
  conversationLog: Pick<ConversationLog, 'summaryNow'>;
  /** Tells the deleted conversation's room, wherever it is open, to close. */
  hub: Pick<Hub, 'publishConversationRemoved'>;
  clock: Clock;
  logger: Logger;
  uploadsPerIp: RateLimitConfig;
  maxBodyBytes: number;
  /** Issue 22: a blocked visitor's uploads are refused. */
  blocks: Pick<VisitorBlocks, 'checkVisitor'>;
  /** Issue 22: a deleted conversation is recorded in its owner's audit log. */
  audit: Pick<AuditLog, 'record'>;
  trustProxy: number;
}

export class ConversationsApi {
  private readonly uploadsPerIp: KeyedRateLimiter;
  /** Members for uploads and downloads: the owner's mail devices too (`npx knock mail send` attaches files). */
  private readonly requesters: Requesters;

  constructor(private readonly deps: ConversationsApiDeps) {
    this.uploadsPerIp = new KeyedRateLimiter(deps.uploadsPerIp, deps.clock);
    this.requesters = new Requesters(deps);
  }

  /** Routes /_/api/conversations*; false when no route matches. */
  async route(r: RequestInfo, path: string): Promise<boolean> {
    const method = r.req.method ?? 'GET';
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/_/api/conversations') return this.done(this.inbox(r));
    if (method === 'POST' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/files$/))) return this.done(this.upload(r, m[1]!));
    if (method === 'POST' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/archive$/))) return this.done(this.archive(r, m[1]!));
    if (method === 'POST' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)\/unread$/))) return this.done(this.unread(r, m[1]!));
    if (method === 'DELETE' && (m = path.match(/^\/_\/api\/conversations\/([^/]+)$/))) return this.done(this.remove(r, m[1]!));
    return false;
  }

  /** Serves /_/files/<id>/<name or "thumb"> (GET, HEAD). */
  async download(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const m = path.match(/^\/_\/files\/([A-Za-z0-9_-]{8,64})\/([^/]+)$/);
    const file = m ? await this.deps.storage.getFile(m[1]!) : null;
    // An unknown file, or a member of another conversation asking: the same 404.
    if (!file || !(await this.requesters.member(req, file.conversationId))) throw new KnockError('not_found', 'There is no such file.');
    const thumb = m![2] === 'thumb';
    if (thumb && !file.thumbBlobId) throw new KnockError('not_found', 'There is no such file.');
    await this.sendBlob(req, res, file, thumb);
  }

  private async done(work: Promise<void>): Promise<true> {
    await work;
    return true;
  }

  // --- uploads ----------------------------------------------------------------------------------------------------
  private async upload(r: RequestInfo, conversationId: string): Promise<void> {
    const member = await this.requesters.member(r.req, conversationId);
    if (!member) throw new KnockError('not_found', 'This conversation does not exist.');
    this.uploadsPerIp.takeOrThrow(r.ip, 'Uploads from your address');
    if (member.participant.role === 'visitor') {
      const { conversation } = member;
      await this.deps.blocks.checkVisitor({ id: conversation.ownerAccountId, displayName: conversation.ownerName }, { conversationId, addressKey: r.ip });
    }
    const { maxUploadBytes } = this.deps.files.limits;
    const declared = Number(r.req.headers['content-length'] ?? 0);
    if (declared > maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
      throw fileTooLarge(maxUploadBytes);
    }
    try {
      const ref = await this.receiveOneFile(r.req, (stream, name) =>
        this.deps.files.upload({ conversationId, participantId: member.participant.id, ownerAccountId: member.conversation.ownerAccountId }, stream, name),
      );
      sendJson(r.res, 201, ref);
    } catch (err) {
      // The client may still be sending: answer, then close the connection rather than read the rest.
      r.res.setHeader('Connection', 'close');
      r.res.once('finish', () => r.req.destroy());
      throw err;
    }
  }

  /** Streams the one `file` part of a multipart body into `store`; refuses anything else in the body. */
  private receiveOneFile<T>(req: IncomingMessage, store: (stream: Readable, name: string) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fields: 0, parts: 2, fieldSize: 0, headerPairs: 20 } });
      } catch {
        reject(new KnockError('bad_request', 'Send the file as multipart/form-data, in a part named "file".'));
        return;
      }
      let storing: Promise<T> | null = null;
      let current: Readable | null = null;
      const fail = (err: unknown) => {
        req.unpipe(parser);
        // The file being stored ends with an error, so the store gives up and keeps nothing of it.
        if (current && !current.destroyed) current.destroy(err instanceof Error ? err : new Error(String(err)));
        reject(err);
      };
      parser.on('file', (field, stream, info) => {
        if (field !== 'file') {
          stream.resume();
          fail(new KnockError('bad_request', 'Send the file in a part named "file".'));
          return;
        }
        current = stream;
        storing = store(stream, info.filename ?? 'file');
        storing.catch((err: unknown) => {
          stream.resume();
          fail(err);
        });
      });
      parser.on('filesLimit', () => fail(new KnockError('bad_request', 'Send one file per request.')));
      parser.on('partsLimit', () => fail(new KnockError('bad_request', 'Send one file per request.')));
      parser.on('fieldsLimit', () => fail(new KnockError('bad_request', 'Send only the file.')));
      parser.on('error', () => fail(new KnockError('bad_request', 'The upload was cut off or is not valid multipart/form-data.')));
      parser.on('close', () => {
        if (!storing) fail(new KnockError('bad_request', 'The request holds no file (a part named "file").'));
        else storing.then(resolve, reject);
      });
      req.on('aborted', () => fail(new KnockError('bad_request', 'The upload was cut off.')));
      req.pipe(parser);
    });
  }

  // --- downloads --------------------------------------------------------------------------------------------------
  private async sendBlob(req: IncomingMessage, res: ServerResponse, file: StoredFile, thumb: boolean): Promise<void> {
    const blobId = thumb ? file.thumbBlobId! : file.blobId;
    const stat = await this.deps.blobs.stat(blobId);
    if (!stat) throw new KnockError('not_found', 'There is no such file.');
    const size = stat.size;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      return void res.end();
    }
    const headers: Record<string, string> = {
      // Whatever the file holds (an HTML page, an SVG with script), it never runs in our origin: no sniffing, a
      // sandbox with nothing allowed, and downloaded rather than shown (thumbnails are our own WebP).
      'Content-Type': thumb ? 'image/webp' : downloadType(file.type),
      'Content-Disposition': thumb ? 'inline' : contentDisposition(file.name),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'private, max-age=86400, immutable',
      ETag: `"${blobId}"`,
      'Accept-Ranges': 'bytes',
    };
    if (req.headers['if-none-match'] === headers.ETag) {
      res.writeHead(304, { ETag: headers.ETag, 'Cache-Control': headers['Cache-Control']! });
      return void res.end();
    }
    const partial = range !== null;
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
    if (partial) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(partial ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) return void res.end();
    const body = await this.deps.blobs.get(blobId, { start, end });
    if (!body) return void res.destroy();
    // A whole file is checked against its SHA-256 on the way out: corrupted bytes never arrive as a complete download.
    const stages: NodeJS.ReadWriteStream[] = partial ? [] : [verifying(blobId, this.deps.logger)];
    await pipeline(body, ...(stages as [Transform]), res).catch(() => res.destroy());
  }

  // --- the owner's inbox -------------------------------------------------------------------------------------------
  private async inbox(r: RequestInfo): Promise<void> {
    const owner = await this.ownerOf(r.req);
    const parsed = inboxQuery.safeParse(Object.fromEntries(r.url.searchParams));
    if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
    const { q, filter } = parsed.data;
    const conversations = await this.deps.storage.listConversations(owner, { limit: INBOX_PAGE, filter, ...(q ? { query: q } : {}) });
    const answer: InboxAnswer = {
      conversations,
      quota: { usedBytes: await this.deps.storage.ownerFileBytes(owner), limitBytes: this.deps.files.limits.ownerQuotaBytes },
    };
    sendJson(r.res, 200, answer);
  }

  private async archive(r: RequestInfo, conversationId: string): Promise<void> {
    const body = await readJson(r.req, archiveBody, this.deps.maxBodyBytes);
    await this.ownConversation(r.req, conversationId);
    await this.deps.storage.setArchived(conversationId, body.archived);
    await this.answerSummary(r, conversationId);
  }

  private async unread(r: RequestInfo, conversationId: string): Promise<void> {
    await this.ownConversation(r.req, conversationId);
    await this.deps.storage.markUnread(conversationId);
    await this.answerSummary(r, conversationId);
  }

  private async remove(r: RequestInfo, conversationId: string): Promise<void> {
    const conversation = await this.ownConversation(r.req, conversationId);
    const visitor = (await this.deps.storage.getParticipants(conversationId)).find((p) => p.role === 'visitor');
    const orphans = await this.deps.storage.deleteConversation(conversationId);
    if (orphans === null) throw new KnockError('not_found', 'This conversation does not exist.');
    this.deps.hub.publishConversationRemoved(conversationId);
    // Who it was with, and (a company's) which operator deleted it: never its content.
    const operator = (await this.requesters.owner(r.req))?.operator;
    await this.deps.audit.record(conversation.ownerAccountId, 'conversation.deleted', auditContextOf(r.req, this.deps.trustProxy), {
      with: visitor?.name || conversation.visitorEmail || '(no name)',
      ...(operator ? { by: operator.account.handle } : {}),
    });
    await this.deps.files.deleteBlobs(orphans);
    r.res.writeHead(204, { 'Cache-Control': 'no-store' });
    r.res.end();
  }

  /** Answers with the conversation's summary, which the owner's other devices get too (one read for both). */
  private async answerSummary(r: RequestInfo, conversationId: string): Promise<void> {
    const summary = await this.deps.conversationLog.summaryNow(conversationId);
    if (!summary) throw new KnockError('not_found', 'This conversation does not exist.');
    sendJson(r.res, 200, summary);
  }

  // --- who is asking -------------------------------------------------------------------------------------------------
  /**
   * The id of the account whose inbox this is: the signed-in owner's, or the company's its operator acts for
   * (engine/http/requesters.ts); 401 otherwise. The console's only: a mail device is not let in.
   */
  private async ownerOf(req: IncomingMessage): Promise<string> {
    const owner = await this.requesters.requireOwner(req);
    if (owner.device) throw new KnockError('unauthorized', 'The inbox is the console\u2019s: log in there.');
    return owner.account.id;
  }

  /** The conversation, if the signed-in account owns it; 404 otherwise (another owner's is not revealed). */
  private async ownConversation(req: IncomingMessage, conversationId: string): Promise<Conversation> {
    const owner = await this.ownerOf(req);
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation || conversation.ownerAccountId !== owner) throw new KnockError('not_found', 'This conversation does not exist.');
    return conversation;
  }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range; several are answered with the whole file, which RFC 9110 allows). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (size === 0) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** A type browsers would run or render as a page is served as plain bytes (it is an attachment anyway). */
function downloadType(type: string): string {
  return /html|xml|svg|javascript|ecmascript|xhtml/i.test(type) ? 'application/octet-stream' : type;
}

/** RFC 6266: an ASCII fallback and the exact name in UTF-8. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Passes bytes through, holding the last chunk back until the whole matches its SHA-256; else the download fails. */
function verifying(expected: string, logger: Logger): Transform {
  const hash = createHash('sha256');
  let held: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous ?? undefined);
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual !== expected) {
        logger.error({ blobId: expected, actual }, 'a stored file does not match its SHA-256: not served');
        done(new Error('stored file corrupted'));
        return;
      }
      done(null, held ?? undefined);
    },
  });
}
