/**
 * engram's SigV4 (store/s3/s3-sigv4.ts, the lean S3 path's signer) against the AWS SDK's own signer
 * (@smithy/signature-v4, what @aws-sdk/client-s3 signs with) and the SDK's key escaping, on many
 * requests: same method, path, headers, credentials and time must give the same Authorization.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { test } from 'node:test';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { encodeS3Path, SigV4Signer } from '../../src/store/s3/s3-sigv4.ts';
import { prng as makePrng } from '../helpers/fuzz.ts';

/** The SDK signer's hash interface on node:crypto. */
class NodeSha256 {
  readonly #h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#h.digest());
  }
}

function bytes(d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof d === 'string') return d;
  return d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

const ALPHABET = ['a', 'Z', '0', '-', '_', '.', '~', '/', ' ', '+', '=', '!', "'", '(', ')', '*', '%', '&', '?', '#', ':', '@', ',', ';', '$', 'é', '中', '😀', '\t'];

function randomKey(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
  return s;
}

test('encodeS3Path escapes every key as the SDK escapes an S3 key (each segment, / kept)', () => {
  const rnd = makePrng(41);
  for (let i = 0; i < 2000; i++) {
    const key = randomKey(rnd);
    assert.equal(encodeS3Path(key), key.split('/').map(extendedEncodeURIComponent).join('/'), JSON.stringify(key));
  }
});

test('SigV4Signer signs GET, PUT and HEAD requests exactly as the SDK signer does', async () => {
  const rnd = makePrng(42);
  const regions = ['us-east-1', 'eu-west-3', 'ap-south-2'];
  for (let i = 0; i < 300; i++) {
    const region = regions[i % regions.length]!;
    const credentials = {
      accessKeyId: `AKID${Math.floor(rnd() * 1e9)}`,
      secretAccessKey: `secret/${Math.floor(rnd() * 1e12)}+x`,
      ...(i % 3 === 0 ? { sessionToken: `token${Math.floor(rnd() * 1e9)}==` } : {}),
    };
    const method = (['GET', 'PUT', 'HEAD'] as const)[i % 3]!;
    const path = `/bucket-${i % 7}/${encodeS3Path(randomKey(rnd))}`;
    const headers: Record<string, string> = {};
    if (method === 'GET' && rnd() < 0.7) headers.range = `bytes=${Math.floor(rnd() * 1000)}-${1000 + Math.floor(rnd() * 1e6)}`;
    if (method === 'PUT') {
      headers['content-length'] = String(Math.floor(rnd() * 5e6));
      if (rnd() < 0.5) headers['if-none-match'] = '*';
    }
    const payloadHash = method === 'PUT' && rnd() < 0.3 ? createHash('sha256').update(String(i)).digest('hex') : 'UNSIGNED-PAYLOAD';
    // Every second of a year, days and midnights included.
    const when = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 365 * 86400) * 1000);
    const host = i % 2 ? '127.0.0.1:7480' : `s3.${region}.amazonaws.com`;

    const ours = new SigV4Signer(region).sign({ method, path, query: '', headers, payloadHash }, host, credentials, when);
    const sdk = new SignatureV4({ credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const signed = await sdk.sign(
      { method, protocol: 'http:', hostname: host.split(':')[0]!, path, query: {}, headers: { ...headers, host, 'x-amz-content-sha256': payloadHash } },
      { signingDate: when },
    );
    assert.equal(ours.authorization, signed.headers.authorization, `request ${i}: ${method} ${path}`);
    assert.equal(ours['x-amz-date'], signed.headers['x-amz-date']);
    assert.equal(ours['x-amz-security-token'], signed.headers['x-amz-security-token']);
  }
});
