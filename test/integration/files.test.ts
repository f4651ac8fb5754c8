/**
 * Files in conversations on a real server (issue 16, "Done when" 2): upload over HTTP (multipart, streamed), attach
 * to a message through the room, resend with the same clientMsgId (one message, the same files), downloads for
 * members only, and each bad input: over-size, too many files, quota, a non-member, hostile file names, an empty
 * file, HTML and SVG with script, a JPEG with GPS EXIF, an upload cut off mid-stream.
 */
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorPayload, FileRef, MessageRecord } from '../../engine/protocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { sha256, uploadFile } from '../support/uploads.ts';

const MAX_UPLOAD = 256 * 1024;
const QUOTA = 1024 * 1024;

let knock: TestKnock;
let cast: Cast;
const rooms: RawRoom[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits(), maxUploadBytes: MAX_UPLOAD, maxFilesPerMessage: 3, ownerQuotaBytes: QUOTA });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock.close());

interface Scene {
  handle: string;
  owner: Person;
  conversationId: string;
  token: string;
  visitor: RawRoom;
  ownerRoom: RawRoom;
}

/** An owner, a visitor who knocked, and both in the conversation's room. */
async function scene(): Promise<Scene> {
  const { handle, person: owner } = await cast.owner('Alice');
  const { conversationId, token } = await cast.visitor().api.knock(handle, 'Vic');
  const visitor = await open({ conversationId, token });
  const ownerRoom = await open({ conversationId }, owner.headers);
  return { handle, owner, conversationId, token, visitor, ownerRoom };
}

async function open(options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.join(knock.url, 'conversation', options, headers);
  rooms.push(room);
  await waitFor(room, (s) => s.of('welcome').length >= 1, 'welcome');
  return room;
}

/** POST one file as the browser does; `auth` is the visitor's token or the owner's cookies. */
function upload(conversationId: string, name: string, bytes: Uint8Array, auth: { token?: string; headers?: Record<string, string> }): Promise<Response> {
  return uploadFile(knock.url, conversationId, name, bytes, auth);
}

async function uploaded(s: Scene, name: string, bytes: Uint8Array): Promise<FileRef> {
  const res = await upload(s.conversationId, name, bytes, { token: s.token });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as FileRef;
}

async function download(ref: FileRef, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${knock.url}/_/files/${ref.id}/${encodeURIComponent(ref.name)}`, { headers });
}

function random(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65536)));
  return bytes;
}

const fileMessages = (room: RawRoom) => room.snapshot().of<MessageRecord>('message').filter((m) => m.event.kind === 'file');

describe('files in a conversation', () => {
  it('uploads, attaches to a message both sides see, and downloads byte-identical for members', async () => {
    const s = await scene();
    const pdfBytes = new Uint8Array([...Buffer.from('%PDF-1.4\n'), ...random(100_000)]);
    const pdf = await uploaded(s, 'report.pdf', pdfBytes);
    expect(pdf).toMatchObject({ name: 'report.pdf', size: pdfBytes.length, type: 'application/pdf', image: null });

    s.visitor.send('send', { clientMsgId: 'files-0001', body: 'Here it is', files: [pdf.id] });
    await waitFor(s.visitor, (x) => x.of<{ clientMsgId: string }>('ack').some((a) => a.clientMsgId === 'files-0001'), 'ack');
    const [message] = (await waitFor(s.ownerRoom, (x) => fileMessages(s.ownerRoom).length === 1, 'the owner gets it')).of<MessageRecord>('message');
    expect(message).toMatchObject({ body: 'Here it is', event: { kind: 'file', files: [pdf] } });

    // The owner (cookie) and the visitor (its cookie from the knock) download the same bytes.
    const byOwner = await download(pdf, s.owner.headers);
    expect(byOwner.status).toBe(200);
    expect(sha256(new Uint8Array(await byOwner.arrayBuffer()))).toBe(sha256(pdfBytes));
    expect(byOwner.headers.get('content-disposition')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(byOwner.headers.get('x-content-type-options')).toBe('nosniff');
    expect(byOwner.headers.get('content-security-policy')).toContain('sandbox');

    // A range of it (a big file's download resumed).
    const part = await download(pdf, { ...s.owner.headers, range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${pdfBytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(Buffer.from(pdfBytes.subarray(100, 200)));
  });

  it('stores a message resent with the same clientMsgId once, with the same files', async () => {
    const s = await scene();
    const a = await uploaded(s, 'a.txt', Buffer.from('first file'));
    const b = await uploaded(s, 'b.txt', Buffer.from('second file'));
    for (let i = 0; i < 3; i++) s.visitor.send('send', { clientMsgId: 'resend-01', body: '', files: [a.id, b.id] });
    await waitFor(s.visitor, (x) => x.of('ack').length === 3, 'three acks');
    const acks = s.visitor.snapshot().of<{ seq: number }>('ack');
    expect(new Set(acks.map((x) => x.seq)).size, 'one message').toBe(1);
    const stored = (await knock.storage.messagesAfter(s.conversationId, 0, 10)).filter((m) => m.event.kind === 'file');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ body: 'a.txt, b.txt', event: { kind: 'file', files: [a, b] } });
  });

  it('keeps files to the members of their conversation: others get 404 and learn nothing', async () => {
    const s = await scene();
    const ref = await uploaded(s, 'secret.txt', Buffer.from('for Alice only'));
    s.visitor.send('send', { clientMsgId: 'secret-01', body: 'x', files: [ref.id] });
    await waitFor(s.ownerRoom, () => fileMessages(s.ownerRoom).length === 1, 'attached');
    const stranger = await cast.owner('Mallory');
    const unknown = { ...ref, id: 'no-such-file-id' };
    for (const [what, res] of [
      ['nobody', await download(ref)],
      ['another account', await download(ref, stranger.person.headers)],
      ['an unknown file', await download(unknown, s.owner.headers)],
    ] as const) {
      expect(res.status, what).toBe(404);
      expect(await res.json(), what).toEqual({ error: { code: 'not_found', message: 'There is no such file.' } });
    }
    // Nor may a stranger upload into it, or attach someone else's file.
    expect((await upload(s.conversationId, 'x.txt', Buffer.from('x'), { headers: stranger.person.headers })).status).toBe(404);
    s.ownerRoom.send('send', { clientMsgId: 'steal-0001', body: 'mine now', files: [ref.id] });
    const [error] = (await waitFor(s.ownerRoom, (x) => x.of('error').length === 1, 'refused')).of<ErrorPayload>('error');
    expect(error).toMatchObject({ code: 'bad_request', ref: 'steal-0001' });
  });

  it('refuses an oversize file with 413 naming the limit, and keeps nothing of it', async () => {
    const s = await scene();
    const res = await upload(s.conversationId, 'big.bin', random(MAX_UPLOAD + 1), { token: s.token });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: ErrorPayload }).error).toMatchObject({ code: 'too_large', message: 'The file is too large (at most 256 KB).' });
    expect(await blobFiles()).not.toContainEqual(expect.stringContaining('tmp'));
    expect(await knock.storage.ownerFileBytes((await knock.storage.getConversation(s.conversationId))!.ownerAccountId)).toBe(0);
  });

  it('refuses more files in one message than allowed, and uploads past the owner\u2019s quota', async () => {
    const s = await scene();
    const refs = [];
    for (let i = 0; i < 4; i++) refs.push(await uploaded(s, `f${i}.txt`, Buffer.from(`file ${i}`)));
    s.visitor.send('send', { clientMsgId: 'toomany-01', body: '', files: refs.map((r) => r.id) });
    const [error] = (await waitFor(s.visitor, (x) => x.of('error').length === 1, 'refused')).of<ErrorPayload>('error');
    expect(error).toMatchObject({ code: 'bad_request', message: 'A message carries at most 3 files.' });

    // The quota (1 MB) fills up: 4 x 250 KB fit, the next is refused with the quota named.
    for (let i = 0; i < 4; i++) await uploaded(s, `part${i}.bin`, random(250 * 1024));
    const full = await upload(s.conversationId, 'one-more.bin', random(100 * 1024), { token: s.token });
    expect(full.status).toBe(413);
    expect(((await full.json()) as { error: ErrorPayload }).error.message).toBe('This inbox is full: its files may take at most 1 MB.');
  });

  it('stores hostile file names safely, and an empty file', async () => {
    const s = await scene();
    expect((await uploaded(s, '../../etc/passwd', Buffer.from('x'))).name).toBe('passwd');
    expect((await uploaded(s, 'invoice\u202Efdp.exe', Buffer.from('x'))).name).toBe('invoicefdp.exe');
    // Control characters cannot stand raw in a multipart header; an extended parameter (RFC 5987) carries them.
    const boundary = 'hostileboundary';
    const raw = await fetch(`${knock.url}/_/api/conversations/${s.conversationId}/files`, {
      method: 'POST',
      headers: { origin: knock.url, authorization: `Bearer ${s.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''bell%07%1B%5B31mname.txt\r\n\r\nx\r\n--${boundary}--\r\n`,
    });
    expect(raw.status, await raw.clone().text()).toBe(201);
    expect(((await raw.json()) as FileRef).name).toBe('bell[31mname.txt');
    const empty = await uploaded(s, 'empty.txt', new Uint8Array(0));
    expect(empty).toMatchObject({ size: 0, name: 'empty.txt' });
    s.visitor.send('send', { clientMsgId: 'empty-0001', body: '', files: [empty.id] });
    await waitFor(s.ownerRoom, () => fileMessages(s.ownerRoom).length === 1, 'attached');
    const res = await download(empty, s.owner.headers);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves HTML and SVG as downloads that cannot run in our origin', async () => {
    const s = await scene();
    for (const [name, text] of [
      ['page.html', '<html><script>alert(document.cookie)</script></html>'],
      ['image.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ] as const) {
      const ref = await uploaded(s, name, Buffer.from(text));
      expect(ref.type, name).toBe('application/octet-stream');
      const res = await download(ref, s.owner.headers);
      expect(res.headers.get('content-type'), name).toBe('application/octet-stream');
      expect(res.headers.get('content-disposition'), name).toMatch(/^attachment;/);
      expect(res.headers.get('content-security-policy'), name).toBe("sandbox; default-src 'none'");
      expect(await res.text(), name).toBe(text);
    }
  });

  it('makes a thumbnail of a JPEG without its GPS EXIF, and keeps the original as uploaded', async () => {
    const s = await scene();
    const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3366cc' } })
      .jpeg()
      .withExif({ IFD0: { Make: 'TestCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2976/100' } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif, 'the test image carries EXIF').toBeDefined();
    const ref = await uploaded(s, 'holiday.jpg', jpeg);
    expect(ref).toMatchObject({ type: 'image/jpeg', image: { width: 1200, height: 800 } });
    const thumb = await fetch(`${knock.url}/_/files/${ref.id}/thumb`, { headers: s.owner.headers });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta.exif, 'no EXIF (so no GPS) in what is shown').toBeUndefined();
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(480);
    const original = await download(ref, s.owner.headers);
    expect(sha256(new Uint8Array(await original.arrayBuffer()))).toBe(sha256(jpeg));
  });

  it('leaves nothing of an upload cut off mid-stream, and the connection and server carry on', async () => {
    const s = await scene();
    const before = await knock.storage.ownerFileBytes((await knock.storage.getConversation(s.conversationId))!.ownerAccountId);
    const boundary = 'knockboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const { port } = new URL(knock.url);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /_/api/conversations/${s.conversationId}/files HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${knock.url}\r\n` +
            `Authorization: Bearer ${s.token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 200000\r\n\r\n${head}`,
        );
        socket.write(Buffer.from(random(50_000)), () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });
    // The server saw the cut; nothing was stored, and the next upload works.
    await expect.poll(async () => (await blobFiles()).filter((f) => f.includes('tmp')).length, { timeout: 5000 }).toBe(0);
    const after = await knock.storage.ownerFileBytes((await knock.storage.getConversation(s.conversationId))!.ownerAccountId);
    expect(after).toBe(before);
    expect((await uploaded(s, 'fine.txt', Buffer.from('fine'))).size).toBe(4);
  });
});

/** Every file under the blob directory (relative paths), to see that nothing half-written stays. */
async function blobFiles(): Promise<string[]> {
  const root = path.join(knock.dataDir, 'blobs');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)));
}
