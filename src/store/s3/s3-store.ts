/**
 * @module S3Store: an ObjectStore in an S3-compatible bucket (AWS S3, Ceph RGW, MinIO) under a key
 * prefix, on @aws-sdk/client-s3. Loaded only from the `engram/s3` subpath so the core never pulls in
 * the SDK. Every request goes through one semaphore per store (bounded parallelism) and one retry
 * policy (backoff with jitter on throttling, 5xx and lost connections).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { EngramError } from '../../errors/index.ts';
import { checkRange } from '../memory-store.ts';
import type { ByteRange, GetOptions, ObjectInfo, ObjectStore, PutOptions } from '../object-store.ts';
import { readBody } from './s3-body.ts';
import { LeanS3Client } from './s3-lean-client.ts';
import { httpStatusOf, withRetry, type RetryOptions } from './s3-retry.ts';
import { Semaphore } from './s3-semaphore.ts';
import { unsignedPayload } from './s3-unsigned-payload.ts';
import { missingByHead } from '../missing-by-head.ts';

/** Where an S3Store lives and how it talks to the server. */
export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix of the repository inside the bucket ('' = the bucket root). */
  readonly prefix?: string;
  /** Server URL, e.g. `http://127.0.0.1:7480`; default: the SDK's (AWS, or AWS_ENDPOINT_URL*). */
  readonly endpoint?: string;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Default: the SDK's credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles…). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`): needed by RGW and MinIO on loopback. Default true. */
  readonly forcePathStyle?: boolean;
  /** Most requests in flight at once (default 16). */
  readonly maxConcurrency?: number;
  /** Objects of at least this many bytes are uploaded in parts (default 64 MiB, minimum 5 MiB). */
  readonly multipartThreshold?: number;
  /** Size of each part (default 16 MiB, minimum 5 MiB; grown so no upload needs > 10,000 parts). */
  readonly partSize?: number;
  /** Retry policy of every request. */
  readonly retry?: RetryOptions;
  /** Keys per ListObjectsV2 page (default 1000, the S3 maximum). */
  readonly listPageSize?: number;
  /** A request fails (and is retried) when no answer comes, or its socket is silent, this long, ms (default 120000). */
  readonly requestTimeoutMs?: number;
  /**
   * Create the bucket when a write finds it missing (default true). Reads never create it: the first
   * write to a new repository is `init`'s config.json, so this is what makes `engram init s3://…`
   * work on an empty server.
   */
  readonly createBucket?: boolean;
  /**
   * Sign the SHA-256 of every PUT and part body into its request (SigV4 signed payload), default
   * false: bodies go as `UNSIGNED-PAYLOAD` (headers, key and credentials are still signed). That
   * hash is a second SHA-256 pass over bytes engram has already hashed: every chunk is checked
   * against its content hash on every read, and manifests and refs against their own checksums, so
   * a body changed on the way is found at the first read either way. On an https endpoint TLS
   * guards the body too. Set true on a plain-http endpoint across a network that may alter
   * traffic, where the server should refuse such a body at write time (see docs/ARCHITECTURE.md).
   */
  readonly signPayload?: boolean;
  /**
   * GET, single PUT and HEAD of objects on engram's own lean client (s3-lean-client.ts: its own
   * keep-alive HTTP/1.1 connections and SigV4) instead of the SDK's request path, default true.
   * Needs a plain-http `endpoint` (RGW, MinIO… on a trusted network); https endpoints, no endpoint
   * (AWS itself: the SDK resolves endpoints, regions and redirects), or a given `client` send every
   * request through the SDK. Listing, multipart, deletes and buckets always go through the SDK.
   */
  readonly leanRequests?: boolean;
  /** A client to use instead of building one (its settings then win over the ones above). */
  readonly client?: S3Client;
}

const MiB = 1024 * 1024;
const MIN_PART = 5 * MiB;
const MAX_PARTS = 10_000;

interface SdkErrorShape {
  readonly name?: string;
  readonly Code?: string;
}

function errorName(e: unknown): string | undefined {
  const err = e as SdkErrorShape | null;
  return err?.name ?? err?.Code;
}

/** True for NoSuchBucket, also once wrapped in an EngramError by {@link S3Store}'s request path. */
function isMissingBucket(e: unknown): boolean {
  return errorName(e) === 'NoSuchBucket' || (e instanceof EngramError && errorName(e.cause) === 'NoSuchBucket');
}

/**
 * An ObjectStore on an S3 bucket. Keys are stored as `<prefix>/<key>`.
 *
 * @example
 * const store = new S3Store({ bucket: 'ckpt', prefix: 'team/llm', endpoint: 'http://127.0.0.1:7480' });
 * const repo = await Repository.open('s3://ckpt/team/llm', { store });
 */
export class S3Store implements ObjectStore {
  readonly location: string;
  /** The bucket. */
  readonly bucket: string;
  /** `<prefix>/`, or '' at the bucket root. */
  readonly root: string;
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  readonly #limit: Semaphore;
  readonly #retry: RetryOptions;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #createBucket: boolean;
  readonly #listPageSize: number;
  readonly #signPayload: boolean;
  readonly #lean: LeanS3Client | undefined;
  #bucketChecked: Promise<void> | undefined;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.root = prefix ? `${prefix}/` : '';
    this.location = `s3://${this.bucket}/${prefix}`;
    const concurrency = Math.max(1, options.maxConcurrency ?? 16);
    this.#limit = new Semaphore(concurrency);
    this.#retry = options.retry ?? {};
    this.#threshold = Math.max(MIN_PART, options.multipartThreshold ?? 64 * MiB);
    this.#partSize = Math.max(MIN_PART, options.partSize ?? 16 * MiB);
    this.#createBucket = options.createBucket ?? true;
    this.#listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.#signPayload = options.signPayload ?? false;
    this.#ownsClient = options.client === undefined;
    this.#client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        forcePathStyle: options.forcePathStyle ?? true,
        // Non-AWS servers (Ceph 16 RGW) refuse the SDK's default aws-chunked checksum trailers with
        // 411; engram re-hashes every chunk it reads anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // withRetry is the one retry policy (see s3-retry.ts).
        maxAttempts: 1,
        requestHandler: {
          // Both: no answer within the time, or a socket silent that long mid-body, fails the request
          // (TimeoutError, retried). Without throwOnRequestTimeout this SDK only logs a warning and a
          // request the server never answers waits forever.
          requestTimeout: options.requestTimeoutMs ?? 120_000,
          socketTimeout: options.requestTimeoutMs ?? 120_000,
          throwOnRequestTimeout: true,
          // Keep-alive sockets, as many as requests may be in flight: no handshake per chunk.
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: concurrency }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: concurrency }),
        },
      });
    const sdk = this.#client;
    this.#lean =
      this.#ownsClient && options.endpoint?.startsWith('http:') && options.leanRequests !== false
        ? new LeanS3Client({
            endpoint: options.endpoint,
            region: options.region ?? 'us-east-1',
            bucket: this.bucket,
            forcePathStyle: options.forcePathStyle ?? true,
            // The SDK's resolved provider: static keys, or its chain (profiles, SSO, IMDS), refreshed as it refreshes them.
            credentials: options.credentials ? async () => options.credentials! : () => sdk.config.credentials(),
            timeoutMs: options.requestTimeoutMs ?? 120_000,
          })
        : undefined;
  }

  async get(key: string, range?: ByteRange, options: GetOptions = {}): Promise<Uint8Array> {
    const k = this.#key(key);
    if (range) {
      if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length < 0) {
        checkRange(key, Number.MAX_SAFE_INTEGER, range);
      }
      // HTTP cannot ask for zero bytes: check that the empty range lies inside the object instead.
      if (range.length === 0) {
        const info = await this.head(key);
        if (!info) throw this.#notFound(key);
        checkRange(key, info.size, range);
        return new Uint8Array(0);
      }
    }
    const lean = this.#lean;
    if (lean) {
      return this.#request(`GET ${key}`, async () => {
        try {
          const res = await lean.send({
            method: 'GET',
            key: k,
            ...(range ? { headers: { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } } : {}),
            into: (n) => {
              this.#checkAnnounced(key, n, range);
              return options.buffer && (!range || n === range.length) ? options.buffer(n) : undefined;
            },
          });
          const contentRange = res.headers['content-range'];
          return this.#checkRangeRead(key, range, res.body, typeof contentRange === 'string' ? contentRange : undefined);
        } catch (e) {
          throw this.#getError(e, key, range);
        }
      });
    }
    return this.#request(`GET ${key}`, async () => {
      try {
        const res = await this.#client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: k,
            ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
          }),
        );
        if (res.ContentLength !== undefined) this.#checkAnnounced(key, res.ContentLength, range);
        // Into the caller's buffer only when the answer is exactly what was asked for.
        const into = options.buffer && (!range || res.ContentLength === range.length) ? options.buffer : undefined;
        return this.#checkRangeRead(key, range, await readBody(res.Body, res.ContentLength, into), res.ContentRange);
      } catch (e) {
        throw this.#getError(e, key, range);
      }
    });
  }

  /** Bounds what a GET accepts by what it asked for, before any of the body is read. */
  #checkAnnounced(key: string, length: number, range: ByteRange | undefined): void {
    if (range && length > range.length) {
      throw new EngramError('IOError', `${this.location}: ${key} answered ${length} bytes for ${range.length}`, { key });
    }
  }

  /** S3 clips a range that runs past the end of the object: the caller asked for bytes that do not exist. */
  #checkRangeRead(key: string, range: ByteRange | undefined, body: Uint8Array, contentRange: string | undefined): Uint8Array {
    if (range && body.byteLength !== range.length) {
      const size = Number(/\/(\d+)$/.exec(contentRange ?? '')?.[1] ?? NaN);
      throw new EngramError('InvalidArgument', `range ${range.offset}+${range.length} lies outside ${key} (${Number.isFinite(size) ? size : body.byteLength + range.offset} bytes)`, { key, offset: range.offset, length: range.length });
    }
    return body;
  }

  /** A failed GET as the ObjectStore contract names it (missing bucket errors pass on to #wrap). */
  #getError(e: unknown, key: string, range: ByteRange | undefined): unknown {
    if (isMissingBucket(e)) return e;
    if (errorName(e) === 'NoSuchKey' || httpStatusOf(e) === 404) return this.#notFound(key, e);
    if (range && (httpStatusOf(e) === 416 || errorName(e) === 'InvalidRange')) {
      return new EngramError('InvalidArgument', `range ${range.offset}+${range.length} lies outside ${key}`, { key, offset: range.offset, length: range.length }, { cause: e });
    }
    return e;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    const k = this.#key(key);
    // No copy: as with every store, the caller leaves `data` alone until the put settles (retries
    // and all). A copy here cost a fresh 4 MiB buffer per chunk, first-touched at ~0.8 GB/s.
    const body = data;
    const write = (): Promise<boolean> => (body.byteLength >= this.#threshold ? this.#putMultipart(key, k, body, options) : this.#putSingle(key, k, body, options));
    try {
      return await write();
    } catch (e) {
      if (!isMissingBucket(e) || !this.#createBucket) throw e;
      await this.ensureBucket();
      return write();
    }
  }

  async #putSingle(key: string, k: string, body: Uint8Array, options: PutOptions): Promise<boolean> {
    let attempts = 0;
    const written = await this.#request(`PUT ${key}`, async () => {
      attempts++;
      try {
        if (this.#lean) {
          await this.#lean.send({
            method: 'PUT',
            key: k,
            body,
            ...(options.ifAbsent ? { headers: { 'if-none-match': '*' } } : {}),
            ...(this.#signPayload ? { payloadHash: createHash('sha256').update(body).digest('hex') } : {}),
          });
        } else {
          await this.#client.send(
            this.#payload(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: body, ContentLength: body.byteLength, ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}) })),
          );
        }
        return true;
      } catch (e) {
        if (options.ifAbsent && httpStatusOf(e) === 412) return false;
        throw e;
      }
    });
    // After a retry, the object that stopped us may be our own earlier attempt whose answer was
    // lost: the same bytes mean we won. (Checked outside the request's semaphore slot, which the
    // reads below need slots of their own.)
    if (!written && attempts > 1) return this.#holds(key, body);
    return written;
  }

  /**
   * Large objects go up in parts, several at once (each part takes a semaphore slot). Atomic like a
   * single PUT: nothing is visible until CompleteMultipartUpload. `ifAbsent` is sent on the complete
   * (AWS honours it); Ceph 16 ignores it there, so a HEAD first narrows — but does not close — the
   * window. Only content-addressed chunks are ever this large, and for them a lost race is harmless.
   */
  async #putMultipart(key: string, k: string, body: Uint8Array, options: PutOptions): Promise<boolean> {
    if (options.ifAbsent && (await this.head(key))) return false;
    const partSize = Math.max(this.#partSize, Math.ceil(body.byteLength / MAX_PARTS));
    const created = await this.#request(`PUT ${key} (start multipart)`, () => this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k })));
    const uploadId = created.UploadId;
    if (!uploadId) throw new EngramError('IOError', `${this.location}: no UploadId for ${key}`, { key });
    try {
      const count = Math.ceil(body.byteLength / partSize);
      const parts = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const part = body.subarray(i * partSize, Math.min(body.byteLength, (i + 1) * partSize));
          const res = await this.#request(`PUT ${key} (part ${i + 1}/${count})`, () =>
            this.#client.send(this.#payload(new UploadPartCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId, PartNumber: i + 1, Body: part, ContentLength: part.byteLength }))),
          );
          return { PartNumber: i + 1, ETag: res.ETag };
        }),
      );
      try {
        await this.#request(`PUT ${key} (complete multipart)`, () =>
          this.#client.send(
            new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}) }),
          ),
        );
      } catch (e) {
        if (options.ifAbsent && httpStatusOf(e) === 412) return false;
        throw e;
      }
      return true;
    } catch (e) {
      // Best effort: an abandoned upload only costs space until the bucket's lifecycle rule runs.
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId })).catch(() => undefined);
      throw e;
    }
  }

  async #holds(key: string, body: Uint8Array): Promise<boolean> {
    const info = await this.head(key);
    if (!info || info.size !== body.byteLength) return false;
    return Buffer.from(await this.get(key)).equals(body);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const k = this.#key(key);
    return this.#request(`HEAD ${key}`, async () => {
      try {
        if (this.#lean) {
          const { headers } = await this.#lean.send({ method: 'HEAD', key: k });
          return { key, size: Number(headers['content-length'] ?? 0), mtimeMs: Date.parse(headers['last-modified'] ?? '') || 0 };
        }
        const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
        return { key, size: res.ContentLength ?? 0, mtimeMs: res.LastModified?.getTime() ?? 0 };
      } catch (e) {
        // A HEAD answer has no body, so a missing bucket looks like a missing key: both mean "absent".
        if (httpStatusOf(e) === 404 || errorName(e) === 'NotFound' || errorName(e) === 'NoSuchKey') return undefined;
        throw e;
      }
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.#request(`LIST ${prefix}`, async () => {
        try {
          return await this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, MaxKeys: this.#listPageSize, ...(token ? { ContinuationToken: token } : {}) }));
        } catch (e) {
          // A bucket that does not exist holds no objects (as a directory that does not exist does on fs).
          if (isMissingBucket(e)) return undefined;
          throw e;
        }
      });
      if (!page) return;
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.root) || o.Key === this.root) continue;
        yield { key: o.Key.slice(this.root.length), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const k = this.#key(key);
    await this.#request(`DELETE ${key}`, async () => {
      try {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
      } catch (e) {
        if (httpStatusOf(e) === 404) return;
        throw e;
      }
    });
  }

  /** Creates the bucket if it does not exist yet (a bucket we already own is fine). Idempotent. */
  ensureBucket(): Promise<void> {
    this.#bucketChecked ??= this.#ensureBucket().catch((e: unknown) => {
      this.#bucketChecked = undefined;
      throw e;
    });
    return this.#bucketChecked;
  }

  async #ensureBucket(): Promise<void> {
    const exists = await this.#request(`HEAD bucket ${this.bucket}`, async () => {
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }));
        return true;
      } catch (e) {
        if (httpStatusOf(e) === 404) return false;
        throw e;
      }
    });
    if (exists) return;
    await this.#request(`CREATE bucket ${this.bucket}`, async () => {
      try {
        await this.#client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (e) {
        // Another writer (or our own lost-answer retry) created it first.
        if (errorName(e) === 'BucketAlreadyOwnedByYou') return;
        if (errorName(e) === 'BucketAlreadyExists') {
          throw new EngramError('Conflict', `bucket ${this.bucket} exists and belongs to another account`, { bucket: this.bucket }, { cause: e });
        }
        throw e;
      }
    });
  }

  /** One HEAD per key, 16 in flight: S3 has no batch existence query. */
  missing(keys: readonly string[]): Promise<string[]> { return missingByHead(this, keys); }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
    this.#lean?.destroy();
  }

  /** One request: a semaphore slot, the retry policy, and SDK errors turned into EngramErrors. */
  async #request<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    try {
      return await withRetry((attempt) => this.#limit.use(() => op(attempt)), this.#retry);
    } catch (e) {
      throw this.#wrap(e, what);
    }
  }

  #wrap(e: unknown, what: string): unknown {
    if (e instanceof EngramError) return e;
    if (isMissingBucket(e)) {
      return new EngramError('NotFound', `bucket ${this.bucket} does not exist (${what}); \`engram init ${this.location}\` creates it`, { bucket: this.bucket }, { cause: e });
    }
    const status = httpStatusOf(e);
    const name = errorName(e) ?? 'Error';
    const message = (e as Error | null)?.message ?? String(e);
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      return new EngramError('IOError', `${this.location}: ${what} refused (${name}): check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`, { status: status ?? null, name }, { cause: e });
    }
    return new EngramError('IOError', `${this.location}: ${what} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${message}`, { status: status ?? null, name }, { cause: e });
  }

  /** A command with a body, set to go unsigned unless {@link S3StoreOptions.signPayload}. */
  #payload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
    return this.#signPayload ? command : unsignedPayload(command);
  }

  #key(key: string): string {
    if (key === '' || key.startsWith('/')) {
      throw new EngramError('InvalidArgument', `invalid object key ${JSON.stringify(key)}`, { key });
    }
    return this.root + key;
  }

  #notFound(key: string, cause?: unknown): EngramError {
    return new EngramError('NotFound', `no object ${key} in ${this.location}`, { key }, cause === undefined ? undefined : { cause });
  }
}
