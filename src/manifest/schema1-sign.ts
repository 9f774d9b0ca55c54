/**
 * Signing Docker schema1 manifests with a throw-away key, as containers/image does when it has to
 * re-serialise one: Docker distribution refuses unsigned schema1 manifests, but nothing checks who
 * signed. The result is a libtrust "pretty" JWS (ES256 over `protected.payload`).
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { FerryError } from '../errors.js';
import { goMarshal } from './json.js';

/** libtrust key ID: base32 of the first 240 bits of sha256(SPKI DER), in groups of four joined by ':'. */
function libtrustKeyID(spkiDER: Buffer): string {
  const hash = createHash('sha256').update(spkiDER).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (out.match(/.{1,4}/g) ?? []).join(':');
}

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Adds a `signatures` member signed by a fresh EC P-256 key to compact manifest JSON. */
export function signSchema1(unsigned: Buffer, now: Date = new Date()): Buffer {
  let close = unsigned.length - 1;
  while (close >= 0 && isSpace(unsigned[close])) close--;
  if (unsigned[close] !== 0x7d)
    throw new FerryError('INVALID_MANIFEST', 'schema1 manifest to sign does not end with "}"');
  let last = close - 1;
  while (last >= 0 && isSpace(unsigned[last])) last--;
  const formatLength = last + 1;
  const formatTail = unsigned.subarray(formatLength);

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = libtrustKeyID(publicKey.export({ type: 'spki', format: 'der' }));
  const time = `${now.toISOString().slice(0, 19)}Z`;
  const protectedHeader = goMarshal({ formatLength, formatTail: formatTail.toString('base64url'), time }).toString(
    'base64url',
  );
  const payload = unsigned.toString('base64url');
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${payload}`), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const signatures = [
    {
      header: { jwk: { crv: 'P-256', kid, kty: 'EC', x: jwk.x, y: jwk.y }, alg: 'ES256' },
      signature: signature.toString('base64url'),
      protected: protectedHeader,
    },
  ];
  return Buffer.concat([
    unsigned.subarray(0, formatLength),
    Buffer.from(',"signatures":'),
    goMarshal(signatures),
    Buffer.from('}'),
  ]);
}
