import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A WebAuthn authenticator in software, for tests that speak HTTP without a browser: it makes
 * ES256 credentials, answers create() and get() the way a platform authenticator does (packed
 * attestation "none", user handle in assertions), and can be cloned to play a copied key.
 * The browser tests use Chromium's own virtual authenticator instead.
 */
interface Credential {
  id: Buffer;
  rpId: string;
  key: KeyObject;
  userHandle: string;
  counter: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64url = (b: Buffer) => b.toString('base64url');

export class SoftAuthenticator {
  credentials: Credential[] = [];

  /** userVerification: whether it verifies the user (PIN, biometrics); counterStep 0 = no counter, like synced passkeys. */
  constructor(readonly opts: { userVerification?: boolean; counterStep?: number; backedUp?: boolean } = {}) {}

  private flags(extra = 0): number {
    let f = FLAG_UP | extra;
    if (this.opts.userVerification !== false) f |= FLAG_UV;
    if (this.opts.backedUp) f |= FLAG_BE | FLAG_BS;
    return f;
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const head = Buffer.alloc(37);
    sha256(rpId).copy(head, 0);
    head[32] = flags;
    head.writeUInt32BE(counter, 33);
    return attested ? Buffer.concat([head, attested]) : head;
  }

  /** navigator.credentials.create() as seen from `origin`. */
  create(options: PublicKeyCredentialCreationOptionsJSON, origin: string): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = Buffer.from(
      isoCBOR.encode(
        new Map<number, number | Uint8Array>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]),
      ),
    );
    const id = randomBytes(32);
    const cred: Credential = { id, rpId, key: privateKey, userHandle: options.user.id, counter: this.opts.counterStep === 0 ? 0 : 1 };
    this.credentials.push(cred);
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(id.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLen, id, cose]);
    const authData = this.authData(rpId, this.flags(FLAG_AT), cred.counter, attested);
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false }));
    const attestationObject = Buffer.from(
      isoCBOR.encode(
        new Map<string, unknown>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', authData],
        ]) as never,
      ),
    );
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestationObject), transports: ['internal'] },
    };
  }

  /** navigator.credentials.get(): the first credential for the RP ID the options allow (any, when they list none). */
  get(options: PublicKeyCredentialRequestOptionsJSON, origin: string, opts: { rpIdHashFor?: string } = {}): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(origin).hostname;
    const allowed = options.allowCredentials?.map((c) => c.id);
    const cred = this.credentials.find((c) => c.rpId === rpId && (!allowed?.length || allowed.includes(b64url(c.id))));
    if (!cred) throw new Error(`no credential for ${rpId}`);
    return this.assert(cred, options.challenge, origin, opts.rpIdHashFor ?? rpId);
  }

  /** An assertion by one given credential (e.g. replayed at another instance). */
  assert(cred: Credential, challenge: string, origin: string, rpId = cred.rpId): AuthenticationResponseJSON {
    if (this.opts.counterStep !== 0) cred.counter += this.opts.counterStep ?? 1;
    const authData = this.authData(rpId, this.flags(), cred.counter);
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), cred.key);
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: cred.userHandle },
    };
  }

  /** A copy with the same keys and counters: what an attacker who extracted the key would hold. */
  clone(): SoftAuthenticator {
    const copy = new SoftAuthenticator(this.opts);
    copy.credentials = this.credentials.map((c) => ({ ...c }));
    return copy;
  }
}
