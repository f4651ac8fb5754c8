/**
 * The files of the message being written (client/src/sdk/attachments.ts), over an uploader this test answers by hand:
 * limits checked before uploading, uploads started once there is a conversation, two at a time, progress, the
 * server's refusal kept for Retry, Remove stopping an upload, `rate_limited` retried after the time the server asks,
 * and `take()` handing over the stored files in the order they were added.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FileRef } from '../../engine/protocol.ts';
import { Attachments } from '../../client/src/sdk/attachments.ts';
import { UploadError, type UploadRequest } from '../../client/src/sdk/fileUpload.ts';

/** Every upload asked for, to be answered by the test. */
class HandUploader {
  readonly calls: { request: UploadRequest; resolve: (ref: FileRef) => void; reject: (err: Error) => void }[] = [];
  readonly upload = (request: UploadRequest) =>
    new Promise<FileRef>((resolve, reject) => {
      this.calls.push({ request, resolve, reject });
      request.signal.addEventListener('abort', () => reject(new UploadError('aborted', 'The upload was cancelled.', 0)));
    });

  names(): string[] {
    return this.calls.map((c) => c.request.name);
  }

  store(index: number): FileRef {
    const call = this.calls[index];
    if (call === undefined) throw new Error(`no upload #${index}`);
    const ref: FileRef = { id: `file-${index}-abcdefgh`, name: call.request.name, size: call.request.file.size, type: 'text/plain', image: null };
    call.resolve(ref);
    return ref;
  }
}

const file = (name: string, bytes = 10) => new File([new Uint8Array(bytes)], name, { type: 'text/plain' });
const target = { conversationId: 'conv-1', token: 'visitor-token-0123456789' };
/** Lets settled uploads' continuations run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe('Attachments', () => {
  it('refuses a file over the limit, naming it and the limit, and adds no more files than a message carries', () => {
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload, limits: { maxFileBytes: 1024 * 1024, maxFilesPerMessage: 3 } });
    files.setTarget(target);

    files.add([file('huge.iso', 1024 * 1024 + 1), file('ok.txt')]);
    expect(files.snapshot().refusal).toBe('huge.iso is too large: a file may be at most 1 MB.');
    expect(files.snapshot().items.map((i) => i.name)).toEqual(['ok.txt']);

    files.add([file('a.txt'), file('b.txt'), file('c.txt')]);
    expect(files.snapshot().refusal).toBe('A message carries at most 3 files: 1 file was left out.');
    expect(files.snapshot().items.map((i) => i.name)).toEqual(['ok.txt', 'a.txt', 'b.txt']);
    // Only what was accepted is uploaded (two at a time).
    expect(uploader.names()).toEqual(['ok.txt', 'a.txt']);
  });

  it('holds files until there is a conversation, then uploads them two at a time with their progress', async () => {
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload });
    files.add([file('1.txt'), file('2.txt'), file('3.txt')]);
    expect(files.snapshot().items.map((i) => i.status)).toEqual(['waiting', 'waiting', 'waiting']);
    expect(files.snapshot().hasTarget).toBe(false);
    expect(uploader.calls).toHaveLength(0);

    files.setTarget(target);
    expect(uploader.names()).toEqual(['1.txt', '2.txt']);
    expect(uploader.calls[0]?.request.target).toEqual(target);
    uploader.calls[0]?.request.onProgress(50, 200);
    expect(files.snapshot().items[0]).toMatchObject({ status: 'uploading', progress: 0.25 });

    uploader.store(0);
    await settle();
    expect(files.snapshot().items.map((i) => i.status)).toEqual(['up', 'uploading', 'uploading']);
    expect(uploader.names()).toEqual(['1.txt', '2.txt', '3.txt']);
    expect(files.snapshot().ready).toBe(false);
  });

  it("keeps the server's sentence for a refused file, uploads it again on Retry, and is ready once all are up", async () => {
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload });
    files.setTarget(target);
    files.add([file('big.bin')]);
    uploader.calls[0]?.reject(new UploadError('too_large', 'The file is too large: at most 25 MB.', 413));
    await settle();
    expect(files.snapshot().items[0]).toMatchObject({ status: 'failed', error: 'The file is too large: at most 25 MB.' });
    expect(files.snapshot()).toMatchObject({ failed: true, ready: false, busy: false });

    files.retry(files.snapshot().items[0]!.id);
    expect(uploader.calls).toHaveLength(2);
    const ref = uploader.store(1);
    await settle();
    expect(files.snapshot()).toMatchObject({ failed: false, ready: true });
    expect(files.take()).toEqual([ref]);
    expect(files.snapshot().items).toEqual([]);
  });

  it('stops the upload of a removed file and starts the next one waiting', async () => {
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload, concurrency: 1 });
    files.setTarget(target);
    files.add([file('first.txt'), file('second.txt')]);
    const first = files.snapshot().items[0]!;
    files.remove(first.id);
    expect(uploader.calls[0]?.request.signal.aborted).toBe(true);
    expect(uploader.names()).toEqual(['first.txt', 'second.txt']);
    await settle();
    expect(files.snapshot().items.map((i) => [i.name, i.status])).toEqual([['second.txt', 'uploading']]);
  });

  it('tries again by itself after the time a rate_limited answer asks for', async () => {
    vi.useFakeTimers();
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload });
    files.setTarget(target);
    files.add([file('slow.txt')]);
    uploader.calls[0]?.reject(new UploadError('rate_limited', 'Too many uploads: wait a moment.', 429, 2000));
    await vi.advanceTimersByTimeAsync(0);
    expect(files.snapshot().items[0]?.status).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1999);
    expect(uploader.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(uploader.calls).toHaveLength(2);
  });

  it('hands over the stored files in the order they were added, whatever order they finished in', async () => {
    const uploader = new HandUploader();
    const files = new Attachments({ upload: uploader.upload });
    files.setTarget(target);
    files.add([file('a.txt'), file('b.txt')]);
    files.requestSend();
    const b = uploader.store(1);
    const a = uploader.store(0);
    await settle();
    expect(files.snapshot()).toMatchObject({ sendRequested: true, ready: true });
    expect(files.take()).toEqual([a, b]);
    expect(files.snapshot()).toMatchObject({ sendRequested: false, items: [] });
  });
});
