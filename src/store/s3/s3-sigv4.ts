/**
 * @module SigV4Signer: AWS Signature Version 4 for the lean S3 request path (s3-lean-client.ts), on
 * node:crypto. The SDK signs through a middleware stack that clones the request, normalises every
 * header and re-derives the signing key per request; the lean path signs a request it built itself:
 * one SHA-256 of a short canonical request and five HMACs, the signing key cached for its day.
 */
import { createHash, createHmac } from 'node:crypto';

/** Static credentials, or the ones a provider answered with. */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** What to sign: the request line and the headers to sign (lower-case names), payload hash included. */
export interface SigV4Request {
  readonly method: string;
  /** The path exactly as sent, already URI-encoded ({@link encodeS3Path}). */
  readonly path: string;
  /** Query as sent, already canonical (sorted, encoded), '' for none. */
  readonly query: string;
  /** Lower-case header names to values; `host`, `x-amz-date` and `x-amz-content-sha256` are added by {@link SigV4Signer.sign}. */
  readonly headers: Record<string, string>;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  readonly payloadHash: string;
}

// u: a character outside the BMP (a surrogate pair) is one match, encoded as its 4 UTF-8 bytes.
const UNRESERVED = /[^A-Za-z0-9\-._~/]/gu;

/**
 * A key's path as S3 signs and receives it: every byte but the unreserved ones and `/` percent-encoded
 * (UTF-8), once — S3 does not normalise paths, so `a//b` and `./` stay as they are.
 */
export function encodeS3Path(path: string): string {
  return path.replace(UNRESERVED, (c) => {
    let out = '';
    for (const b of Buffer.from(c, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });
}

/** Signs S3 requests for one region. */
export class SigV4Signer {
  readonly #region: string;
  readonly #service: string;
  #keyDay = '';
  #keySecret = '';
  #key: Buffer = Buffer.alloc(0);

  constructor(region: string, service = 's3') {
    this.#region = region;
    this.#service = service;
  }

  /**
   * The headers to send with `request` — its own plus `host`, `x-amz-date`, `x-amz-content-sha256`,
   * `x-amz-security-token` (with a session token) and `authorization` — signed at `now`.
   */
  sign(request: SigV4Request, host: string, credentials: SigV4Credentials, now: Date = new Date()): Record<string, string> {
    const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = { ...request.headers, host, 'x-amz-date': amzDate, 'x-amz-content-sha256': request.payloadHash };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonical = `${request.method}\n${request.path}\n${request.query}\n${canonicalHeaders}\n${signedHeaders}\n${request.payloadHash}`;
    const scope = `${day}/${this.#region}/${this.#service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.#signingKey(day, credentials.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** The day's key: HMAC("AWS4" + secret, day) → region → service → "aws4_request", kept until the day or secret changes. */
  #signingKey(day: string, secret: string): Buffer {
    if (day !== this.#keyDay || secret !== this.#keySecret) {
      const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
      this.#key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.#region), this.#service), 'aws4_request');
      this.#keyDay = day;
      this.#keySecret = secret;
    }
    return this.#key;
  }
}
