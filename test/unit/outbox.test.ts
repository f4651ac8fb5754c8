/** The client's outbox of unacknowledged messages (client/src/sdk/outbox.ts) over an in-memory store. */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { Outbox, type PendingMessage } from '../../client/src/sdk/outbox.ts';

const KEY = 'knock:outbox:c1';
const m = (n: number): PendingMessage => ({ clientMsgId: `cmid-000${n}`, body: `message ${n}`, at: 1000 + n });

describe('Outbox', () => {
  it('keeps pending messages in the order they were written, across page loads', () => {
    const store = memoryStore();
    const first = new Outbox(store, KEY);
    first.add(m(1));
    first.add(m(2));

    const reloaded = new Outbox(store, KEY);
    expect(reloaded.all()).toEqual([m(1), m(2)]);
    expect(reloaded.has(m(2).clientMsgId)).toBe(true);
  });

  it('takes out an acknowledged message and forgets the key once empty', () => {
    const store = memoryStore();
    const outbox = new Outbox(store, KEY);
    outbox.add(m(1));
    outbox.add(m(2));

    expect(outbox.take(m(1).clientMsgId)).toEqual(m(1));
    expect(outbox.take('cmid-unknown')).toBeNull();
    expect(new Outbox(store, KEY).all()).toEqual([m(2)]);
    outbox.take(m(2).clientMsgId);
    expect(store.get(KEY)).toBeNull();
  });

  it.each([
    ['text that is not JSON', '{"clientMsgId":'],
    ['JSON that is not a list', '{"clientMsgId":"cmid-0001"}'],
    ['null', 'null'],
  ])('starts empty from a corrupted stored value (%s) and still works', (_what, raw) => {
    const store = memoryStore();
    store.set(KEY, raw);

    const outbox = new Outbox(store, KEY);
    expect(outbox.all()).toEqual([]);
    outbox.add(m(1));
    expect(new Outbox(store, KEY).all()).toEqual([m(1)]);
  });

  it('keeps the well-formed entries of a partly corrupted list and drops the rest', () => {
    const store = memoryStore();
    store.set(KEY, JSON.stringify([m(1), null, 'text', { clientMsgId: 'cmid-0002', body: 5, at: 1 }, { body: 'no id', at: 1 }, m(3)]));

    expect(new Outbox(store, KEY).all()).toEqual([m(1), m(3)]);
  });
});

describe('Outbox with files', () => {
  const photo = { id: 'file-photo-01', name: 'photo.jpg', size: 123_456, type: 'image/jpeg', image: { width: 800, height: 600 } };
  const pdf = { id: 'file-pdf-0001', name: 'plan.pdf', size: 2048, type: 'application/pdf', image: null };

  it('keeps a message with its files across page loads, so the resend carries the same files', () => {
    const store = memoryStore();
    new Outbox(store, KEY).add({ clientMsgId: 'cmid-files-1', body: '', at: 5, files: [photo, pdf] });
    expect(new Outbox(store, KEY).all()).toEqual([{ clientMsgId: 'cmid-files-1', body: '', at: 5, files: [photo, pdf] }]);
  });

  it('drops a stored message whose files are not files any more', () => {
    const store = memoryStore();
    store.set(KEY, JSON.stringify([{ ...m(1), files: [{ id: 'x' }] }, { ...m(2), files: [] }, { ...m(3), files: [pdf] }]));
    expect(new Outbox(store, KEY).all()).toEqual([{ ...m(3), files: [pdf] }]);
  });
});
