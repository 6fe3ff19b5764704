/**
 * @module LeanS3Client: the hot requests of S3Store — GET (ranged or whole), PUT (also if-absent) and
 * HEAD of one object — straight on node:http(s) with keep-alive sockets and engram's own SigV4
 * (s3-sigv4.ts). The SDK's path costs ~2–4 CPU-s per GiB moved on this machine (a middleware stack per
 * request, request cloning and header normalisation, `Expect: 100-continue` round trips, bodies
 * collected in 64 KiB pieces and copied again); here a request is one signed header block and the body
 * goes from the caller's buffer to the socket, and from the socket into the caller's buffer. Listing,
 * multipart uploads, deletes and buckets stay on the SDK (s3-store.ts): they are rare and need XML.
 *
 * Failures look like the SDK's to the rest of s3-store.ts and s3-retry.ts: an {@link S3HttpError}
 * carries the S3 error `Code` as its name and the status in `$metadata.httpStatusCode`; socket errors
 * and timeouts pass through with their Node codes (ECONNRESET…) or as a `TimeoutError`.
 */
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { allocBody, readStream } from './s3-body.ts';
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

/** A request timed out (named as the SDK names it, so it is retried the same way). */
class LeanTimeoutError extends Error {
  override readonly name = 'TimeoutError';
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
  /** Keep-alive sockets at most (the store's request limit). */
  readonly maxSockets: number;
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

/** Error bodies are small XML documents; more than this is not read. */
const MAX_ERROR_BODY = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** What the lean path's requests call themselves (the SDK's say `aws-sdk-js/…`). */
export const USER_AGENT = 'engram-s3-lean';

/** The S3 client of the hot path. */
export class LeanS3Client {
  readonly #https: boolean;
  readonly #hostname: string;
  readonly #port: number | undefined;
  /** The Host header, as signed. */
  readonly #host: string;
  readonly #pathPrefix: string;
  readonly #signer: SigV4Signer;
  readonly #credentials: () => Promise<SigV4Credentials>;
  readonly #agent: HttpsAgent;
  /** Plain http: engram's own connections (s3-http1-pool.ts). */
  readonly #pool: Http1Pool | undefined;
  readonly #timeoutMs: number;

  constructor(options: LeanS3ClientOptions) {
    const url = new URL(options.endpoint);
    this.#https = url.protocol === 'https:';
    const basePath = url.pathname.replace(/\/+$/, '');
    this.#hostname = options.forcePathStyle ? url.hostname : `${options.bucket}.${url.hostname}`;
    this.#port = url.port ? Number(url.port) : undefined;
    this.#host = url.port ? `${this.#hostname}:${url.port}` : this.#hostname;
    this.#pathPrefix = options.forcePathStyle ? `${basePath}/${encodeS3Path(options.bucket)}/` : `${basePath}/`;
    this.#signer = new SigV4Signer(options.region);
    this.#credentials = options.credentials;
    this.#agent = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets });
    this.#pool = this.#https ? undefined : new Http1Pool(this.#hostname, this.#port ?? 80, options.timeoutMs);
    this.#timeoutMs = options.timeoutMs;
  }

  /** Sends one request; resolves with a 2xx answer, rejects with an {@link S3HttpError} or a socket error. */
  async send(r: LeanRequest): Promise<LeanResponse> {
    const path = this.#pathPrefix + encodeS3Path(r.key);
    const extra: Record<string, string> = { ...r.headers };
    if (r.body) extra['content-length'] = String(r.body.byteLength);
    const headers = this.#signer.sign({ method: r.method, path, query: '', headers: extra, payloadHash: r.payloadHash ?? 'UNSIGNED-PAYLOAD' }, this.#host, await this.#credentials());
    // Unsigned, as SigV4 leaves it: for the server's logs.
    headers['user-agent'] = USER_AGENT;
    if (this.#pool) {
      const res = await this.#pool.send({ method: r.method, path, headers, ...(r.body ? { body: r.body } : {}), ...(r.into ? { into: r.into } : {}) });
      if (res.status >= 300) throw errorOf(r, res.status, Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength).toString('utf8'));
      return res;
    }
    return this.#sendHttps(r, path, headers);
  }

  /** The same exchange on node:https (TLS: the kernel cannot read into our buffers there anyway). */
  async #sendHttps(r: LeanRequest, path: string, headers: Record<string, string>): Promise<LeanResponse> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpsRequest({ agent: this.#agent, hostname: this.#hostname, port: this.#port, method: r.method, path, headers }, resolve);
      req.setTimeout(this.#timeoutMs, () => req.destroy(new LeanTimeoutError(`${r.method} ${r.key}: no answer within ${this.#timeoutMs} ms`)));
      // on, not once: a body write can fail (EPIPE) after the server has already answered and closed.
      req.on('error', reject);
      if (r.body) req.end(r.body);
      else req.end();
    });
    const status = res.statusCode ?? 0;
    const plain = (): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
      return out;
    };
    if (status < 200 || status >= 300) throw errorOf(r, status, r.method === 'HEAD' ? (res.resume(), '') : await boundedText(res));
    if (r.method === 'HEAD') {
      res.resume();
      return { status, headers: plain(), body: EMPTY };
    }
    const announced = res.headers['content-length'];
    if (announced === undefined) throw await drained(res, new Error(`${r.method} ${r.key}: the answer has no Content-Length`));
    const length = Number(announced);
    let out: Uint8Array | undefined;
    try {
      out = r.into?.(length);
    } catch (e) {
      throw await drained(res, e);
    }
    return { status, headers: plain(), body: length === 0 ? (res.resume(), EMPTY) : await readStream(res, out ?? allocBody(length)) };
  }

  /** Closes the idle sockets. */
  destroy(): void {
    this.#agent.destroy();
    this.#pool?.destroy();
  }
}

/** The error of a non-2xx answer, from the `<Code>` and `<Message>` of its XML body. */
function errorOf(r: LeanRequest, status: number, text: string): S3HttpError {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? statusName(status);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `${r.method} ${r.key} answered HTTP ${status}`;
  return new S3HttpError(code, status, message || code);
}

/** An error answer's body as text, at most MAX_ERROR_BODY bytes of it. */
async function boundedText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      size += c.byteLength;
      if (size > MAX_ERROR_BODY) {
        res.destroy();
        break;
      }
      chunks.push(c);
    }
  } catch {
    // A body cut short only loses the error's detail; the status says enough.
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The SDK's names for body-less error answers (HEAD), so that callers test one set of names. */
function statusName(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 403) return 'Forbidden';
  if (status === 412) return 'PreconditionFailed';
  if (status === 503) return 'ServiceUnavailable';
  return `Http${status}`;
}

/** Throws `e` once `res` is discarded (the socket is not reused: the unread body is still on it). */
async function drained(res: IncomingMessage, e: unknown): Promise<unknown> {
  res.destroy();
  return e;
}
