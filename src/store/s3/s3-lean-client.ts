/**
 * @module LeanS3Client: the hot requests of S3Store — GET (ranged or whole), PUT (also if-absent) and
 * HEAD of one object — on engram's own keep-alive HTTP/1.1 connections (s3-http1-pool.ts, plain
 * http only: on https the SDK keeps every request) and its own SigV4 (s3-sigv4.ts). The SDK's path costs ~2–4 CPU-s per GiB moved on this machine (a middleware stack per
 * request, request cloning and header normalisation, `Expect: 100-continue` round trips, bodies
 * collected in 64 KiB pieces and copied again); here a request is one signed header block and the body
 * goes from the caller's buffer to the socket, and from the kernel into the caller's buffer. Listing,
 * multipart uploads, deletes and buckets stay on the SDK (s3-store.ts): they are rare and need XML.
 *
 * Failures look like the SDK's to the rest of s3-store.ts and s3-retry.ts: an {@link S3HttpError}
 * carries the S3 error `Code` as its name and the status in `$metadata.httpStatusCode`; socket errors
 * and timeouts pass through with their Node codes (ECONNRESET…) or as a `TimeoutError`.
 */
import { EngramError } from '../../errors/index.ts';
import { Http1Pool } from './s3-http1-pool.ts';
import { encodeS3Path, SigV4Signer, type SigV4Credentials } from './s3-sigv4.ts';

/** An S3 error answer: `name` is its `<Code>` (or a name for the status when it has no body). */
export class S3HttpError extends Error {
  /** Where s3-retry.ts and s3-store.ts look for the status, as on the SDK's errors. */
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(name: string, status: number, message: string) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/** How the client reaches the server. */
export interface LeanS3ClientOptions {
  /** `http://host:port` or `https://host`. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Path-style (`/bucket/key`) rather than virtual-host (`bucket.host/key`) addressing. */
  readonly forcePathStyle: boolean;
  /** Credentials for each request (a provider may refresh them). */
  readonly credentials: () => Promise<SigV4Credentials>;
  /** A request fails when its socket is silent this long, ms. */
  readonly timeoutMs: number;
}

/** One request to an object. */
export interface LeanRequest {
  readonly method: 'GET' | 'PUT' | 'HEAD';
  /** The object key in the bucket (the store's root included), not encoded. */
  readonly key: string;
  /** Extra lower-case headers to send and sign (range, if-none-match…). */
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** Hex SHA-256 of the body to sign; default `UNSIGNED-PAYLOAD`. */
  readonly payloadHash?: string;
  /**
   * For a 2xx answer with a body: called with its Content-Length before any of it is read; throws to
   * refuse it, or returns where to read it (undefined: a buffer of the client's own).
   */
  readonly into?: (length: number) => Uint8Array | undefined;
}

/** A 2xx answer. */
export interface LeanResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined by `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body (empty for HEAD and PUT). */
  readonly body: Uint8Array;
}

/** What the lean path's requests call themselves (the SDK's say `aws-sdk-js/…`). */
export const USER_AGENT = 'engram-s3-lean';

/** The S3 client of the hot path. */
export class LeanS3Client {
  readonly #hostname: string;
  readonly #port: number | undefined;
  /** The Host header, as signed. */
  readonly #host: string;
  readonly #pathPrefix: string;
  readonly #signer: SigV4Signer;
  readonly #credentials: () => Promise<SigV4Credentials>;
  /** engram's own connections (s3-http1-pool.ts). */
  readonly #pool: Http1Pool;

  constructor(options: LeanS3ClientOptions) {
    const url = new URL(options.endpoint);
    if (url.protocol !== 'http:') throw new EngramError('InvalidArgument', `the lean S3 path speaks plain http only, not ${url.protocol}`, { endpoint: options.endpoint });
    const basePath = url.pathname.replace(/\/+$/, '');
    this.#hostname = options.forcePathStyle ? url.hostname : `${options.bucket}.${url.hostname}`;
    this.#port = url.port ? Number(url.port) : undefined;
    this.#host = url.port ? `${this.#hostname}:${url.port}` : this.#hostname;
    this.#pathPrefix = options.forcePathStyle ? `${basePath}/${encodeS3Path(options.bucket)}/` : `${basePath}/`;
    this.#signer = new SigV4Signer(options.region);
    this.#credentials = options.credentials;
    this.#pool = new Http1Pool(this.#hostname, this.#port ?? 80, options.timeoutMs);
  }

  /** Sends one request; resolves with a 2xx answer, rejects with an {@link S3HttpError} or a socket error. */
  async send(r: LeanRequest): Promise<LeanResponse> {
    const path = this.#pathPrefix + encodeS3Path(r.key);
    const extra: Record<string, string> = { ...r.headers };
    if (r.body) extra['content-length'] = String(r.body.byteLength);
    const headers = this.#signer.sign({ method: r.method, path, query: '', headers: extra, payloadHash: r.payloadHash ?? 'UNSIGNED-PAYLOAD' }, this.#host, await this.#credentials());
    // Unsigned, as SigV4 leaves it: for the server's logs.
    headers['user-agent'] = USER_AGENT;
    const res = await this.#pool.send({ method: r.method, path, headers, ...(r.body ? { body: r.body } : {}), ...(r.into ? { into: r.into } : {}) });
    if (res.status >= 300) throw errorOf(r, res.status, Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength).toString('utf8'));
    return res;
  }

  /** Closes the idle sockets. */
  destroy(): void {
    this.#pool.destroy();
  }
}

/** The error of a non-2xx answer, from the `<Code>` and `<Message>` of its XML body. */
function errorOf(r: LeanRequest, status: number, text: string): S3HttpError {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? statusName(status);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `${r.method} ${r.key} answered HTTP ${status}`;
  return new S3HttpError(code, status, message || code);
}

/** The SDK's names for body-less error answers (HEAD), so that callers test one set of names. */
function statusName(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 403) return 'Forbidden';
  if (status === 412) return 'PreconditionFailed';
  if (status === 503) return 'ServiceUnavailable';
  return `Http${status}`;
}
