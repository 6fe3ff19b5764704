/**
 * The S3 server tests run against: a real Ceph RGW that scripts/test.sh starts (scripts/rgw-start.sh)
 * or one named by the environment. Tests that need it call these helpers, which THROW with the
 * reason when no server is configured: an S3 test never skips.
 *
 * Environment: ENGRAM_TEST_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; the keys in
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; AWS_REGION (default us-east-1); the bucket in
 * ENGRAM_TEST_S3_BUCKET (default `<ENGRAM_TEST_S3_BUCKET_PREFIX or engram-test>`), created when
 * absent. ENGRAM_TEST_S3_ERROR carries why test.sh could not start RGW.
 */
import { randomBytes } from 'node:crypto';
import { S3Store, type S3StoreOptions } from '../../src/s3.ts';

/** Where the test S3 server is and how to sign in to it. */
export interface S3TestEnv {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The bucket tests use; it is created on first use. */
  readonly bucket: string;
  /** Prefix for tests that want buckets of their own (e.g. to see `init` create one). */
  readonly bucketPrefix: string;
}

/** The configured test server; throws (never skips) when there is none. */
export function requireS3Env(): S3TestEnv {
  const env = process.env;
  const endpoint = env.ENGRAM_TEST_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    const why = env.ENGRAM_TEST_S3_ERROR ? `\nscripts/test.sh could not start Ceph RGW: ${env.ENGRAM_TEST_S3_ERROR}` : '';
    throw new Error(
      'S3 tests need a server: run them through `npm test` (scripts/test.sh starts a Ceph RGW), or ' +
        '`source /tmp/engram-rgw/s3.env` after `bash scripts/rgw-start.sh /tmp/engram-rgw`, or set ' +
        `AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.${why}`,
    );
  }
  const bucketPrefix = env.ENGRAM_TEST_S3_BUCKET_PREFIX ?? 'engram-test';
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region: env.AWS_REGION ?? 'us-east-1',
    bucket: env.ENGRAM_TEST_S3_BUCKET ?? bucketPrefix,
    bucketPrefix,
  };
}

let counter = 0;

/** A name no other test (in this or another process) uses: `<name>-<pid>-<n>-<random>`. */
export function uniqueS3Name(name: string): string {
  const safe = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 't';
  return `${safe}-${process.pid}-${++counter}-${randomBytes(4).toString('hex')}`;
}

/**
 * A fresh, empty repository location `s3://<bucket>/<unique prefix>` on the test server. The bucket
 * is created by the store's first write if it does not exist yet.
 */
export function s3TestUrl(name: string): string {
  return `s3://${requireS3Env().bucket}/${uniqueS3Name(name)}`;
}

/** Environment variables that point a child process (the CLI) at the test server. */
export function s3ChildEnv(): Record<string, string> {
  const e = requireS3Env();
  return { AWS_ENDPOINT_URL: e.endpoint, AWS_ACCESS_KEY_ID: e.accessKeyId, AWS_SECRET_ACCESS_KEY: e.secretAccessKey, AWS_REGION: e.region };
}

/** Client options for the test server, for tests that build an S3Store themselves. */
export function s3TestStoreOptions(url: string, extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const e = requireS3Env();
  const u = new URL(url);
  return {
    bucket: u.hostname,
    prefix: decodeURIComponent(u.pathname.replace(/^\/+/, '')),
    endpoint: e.endpoint,
    region: e.region,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    ...extra,
  };
}

/** A fresh, empty S3Store under a unique prefix of the test bucket (which it creates if absent). */
export async function createS3TestStore(name: string, extra: Partial<S3StoreOptions> = {}): Promise<S3Store> {
  const store = new S3Store(s3TestStoreOptions(s3TestUrl(name), extra));
  await store.ensureBucket();
  return store;
}

/** Deletes every object under the store's prefix (call before `close`). */
export async function emptyS3Store(store: S3Store): Promise<void> {
  const keys: string[] = [];
  for await (const info of store.list('')) keys.push(info.key);
  await Promise.all(keys.map((k) => store.delete(k)));
}

/**
 * Hands out S3Stores on fresh prefixes of the test bucket and, at `cleanup` (call it from `after`),
 * empties every prefix it handed out — with stores of its own, since tests may have closed theirs.
 */
export function s3StoreTracker(): { fresh(name: string, extra?: Partial<S3StoreOptions>): Promise<S3Store>; cleanup(): Promise<void> } {
  const urls: string[] = [];
  return {
    async fresh(name, extra = {}) {
      const url = s3TestUrl(name);
      urls.push(url);
      const store = new S3Store(s3TestStoreOptions(url, extra));
      await store.ensureBucket();
      return store;
    },
    async cleanup() {
      for (const url of urls.splice(0)) {
        const store = new S3Store(s3TestStoreOptions(url));
        try {
          await emptyS3Store(store);
        } finally {
          await store.close();
        }
      }
    },
  };
}
