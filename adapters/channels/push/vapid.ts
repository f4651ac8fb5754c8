/**
 * The server's VAPID key pair (RFC 8292): the ES256 key Knock signs every push request with, and whose public half
 * each browser is given as `applicationServerKey` when it subscribes. A push service accepts a subscription's pushes
 * only when they are signed by the key it was made with, so the pair is made once, at the server's first start, and
 * kept for good (a new pair would silence every subscribed device). The engine keeps it through
 * `Storage.serverValue(name, value)` as one string; this module makes, writes and reads that string.
 *
 * @example
 *   const stored = await storage.serverValue('push.vapid', storedVapidKeys(makeVapidKeys()));
 *   const vapid = vapidKeysFromStored(stored); // throws VapidKeysError if the stored text is damaged
 *   console.log(vapid.publicKey); // for the console's pushManager.subscribe({ applicationServerKey })
 */
import { createECDH, ECDH } from 'node:crypto';
import webPush from 'web-push';
import { z } from 'zod';

/** A VAPID key pair, both halves base64url without padding, as web-push and browsers take them. */
export interface VapidKeys {
  /** The uncompressed P-256 point (65 bytes, 0x04 first): the `applicationServerKey` of `pushManager.subscribe`. */
  publicKey: string;
  /** The private scalar (32 bytes). Never leaves the server. */
  privateKey: string;
}

/** Stored VAPID keys that cannot be used; the message says what is wrong with them. */
export class VapidKeysError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VapidKeysError';
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A base64url string that decodes to exactly `bytes` bytes. */
export function base64urlOfLength(field: string, bytes: number) {
  return z
    .string({ error: `${field} must be a base64url string.` })
    .max(4 * Math.ceil(bytes / 3) + 2, `${field} must be ${bytes} bytes, base64url (it is too long).`)
    .transform((text) => text.replace(/=+$/, ''))
    // Each check stops the ones after it: one clear message per field, not three about the same mistake.
    .refine((text) => BASE64URL.test(text), { message: `${field} must be base64url (A-Z a-z 0-9 - _).`, abort: true })
    .refine((text) => Buffer.from(text, 'base64url').length === bytes, { message: `${field} must be ${bytes} bytes, base64url.`, abort: true });
}

/** Whether `key` (65 bytes) is a point on P-256: a point off the curve is refused by every ECDH with it. */
export function isP256Point(key: Buffer): boolean {
  if (key.length !== 65 || key[0] !== 0x04) return false;
  try {
    ECDH.convertKey(key, 'prime256v1');
    return true;
  } catch {
    return false;
  }
}

const storedForm = z
  .object(
    {
    publicKey: base64urlOfLength('publicKey', 65).refine((key) => isP256Point(Buffer.from(key, 'base64url')), 'publicKey must be an uncompressed P-256 point.'),
    privateKey: base64urlOfLength('privateKey', 32),
    },
    { error: 'expected an object {"publicKey": ..., "privateKey": ...}.' },
  )
  .refine(({ publicKey, privateKey }) => publicOf(privateKey) === publicKey, 'publicKey is not the public half of privateKey.');

/** The public key (base64url) of a private scalar, or null if it is not a valid one. */
function publicOf(privateKey: string): string | null {
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
    return ecdh.getPublicKey().toString('base64url');
  } catch {
    return null;
  }
}

/** A new VAPID key pair (web-push's generateVAPIDKeys: a fresh P-256 key, both halves base64url). */
export function makeVapidKeys(): VapidKeys {
  return webPush.generateVAPIDKeys();
}

/** The keys as the one string the engine stores (JSON `{"publicKey": ..., "privateKey": ...}`). */
export function storedVapidKeys(keys: VapidKeys): string {
  return JSON.stringify(checkedVapidKeys(keys));
}

/** Reads the stored string back, checking that both halves are well formed and belong together. */
export function vapidKeysFromStored(text: string): VapidKeys {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VapidKeysError('The stored VAPID keys are not JSON: expected {"publicKey": ..., "privateKey": ...}.');
  }
  return checkedVapidKeys(json);
}

/** `keys` if they are a usable VAPID pair; else a VapidKeysError naming what is wrong. */
export function checkedVapidKeys(keys: unknown): VapidKeys {
  const parsed = storedForm.safeParse(keys);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.message.includes(' ') ? issue.message : `${issue.path.join('.')}: ${issue.message}`));
    throw new VapidKeysError(`The VAPID keys cannot be used: ${problems.join(' ')}`);
  }
  return { publicKey: parsed.data.publicKey, privateKey: parsed.data.privateKey };
}
