/**
 * A passkey authenticator in Node, for integration tests of WebAuthn without a browser: an ES256 key pair per
 * credential (node:crypto), registration answered with attestation 'none', sign-ins answered by signing the
 * authenticator data and the client data's hash, as a platform authenticator that verified its user (UP and UV set,
 * a counter that goes up). It plays the browser's part too: the client data names the origin it is given. The
 * answers have the JSON shape @simplewebauthn/browser gives the server.
 *
 * @example
 *   const authenticator = new SoftAuthenticator('http://localhost:8080');
 *   const response = authenticator.register(options);          // options from /_/api/security/second-factor/passkeys/options
 *   const signed = authenticator.sign(loginOptions);           // any credential of its rpId (a discoverable login)
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface Credential {
  id: Buffer;
  rpId: string;
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
}

/** What the tests pass: the options JSON the server gave (only what a browser reads of it). */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
}
export interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export class SoftAuthenticator {
  private readonly credentials: Credential[] = [];

  constructor(
    /** The page's origin the client data names (a phishing test gives another). */
    private readonly origin: string,
  ) {}

  /** navigator.credentials.create(): a new discoverable credential for the options' RP and user. */
  register(options: CreationOptions, overrides: { origin?: string; userVerified?: boolean } = {}): Record<string, unknown> {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const credential: Credential = { id: randomBytes(32), rpId, userHandle: options.user.id, privateKey, counter: 0 };
    this.credentials.push(credential);
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const flags = FLAG_UP | FLAG_AT | (overrides.userVerified === false ? 0 : FLAG_UV);
    const authData = Buffer.concat([authenticatorData(rpId, flags, 0), Buffer.alloc(16), idLength, credential.id, Buffer.from(isoCBOR.encode(cose))]);
    const attestation = new Map<string, string | Uint8Array | Map<string, string>>([['fmt', 'none'], ['attStmt', new Map<string, string>()], ['authData', authData]]);
    const attestationObject = isoCBOR.encode(attestation);
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON: clientData('webauthn.create', options.challenge, overrides.origin ?? this.origin),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get(): signs the challenge with a credential of the options' RP (one allowed, if listed). */
  sign(options: RequestOptions, overrides: { origin?: string; challenge?: string } = {}): Record<string, unknown> {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const allowed = options.allowCredentials?.map((c) => c.id);
    const credential = this.credentials.find((c) => c.rpId === rpId && (!allowed?.length || allowed.includes(c.id.toString('base64url'))));
    if (!credential) throw new Error(`The authenticator holds no credential for ${rpId}.`);
    credential.counter += 1;
    const authData = authenticatorData(rpId, FLAG_UP | FLAG_UV, credential.counter);
    const clientDataJSON = clientData('webauthn.get', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const signed = Buffer.concat([authData, createHash('sha256').update(Buffer.from(clientDataJSON, 'base64url')).digest()]);
    return {
      id: credential.id.toString('base64url'),
      rawId: credential.id.toString('base64url'),
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: authData.toString('base64url'),
        signature: sign('sha256', signed, credential.privateKey).toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

function authenticatorData(rpId: string, flags: number, counter: number): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count]);
}

function clientData(type: string, challenge: string, origin: string): string {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false })).toString('base64url');
}
