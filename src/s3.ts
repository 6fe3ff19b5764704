/**
 * @module `engram/s3`: the S3 backend. Importing it registers the `s3:` URL scheme, so that
 * `Repository.open('s3://bucket/prefix')` works; the core also loads it on demand the first time it
 * meets an `s3://` URL (src/store/open-store.ts). Only this subpath loads @aws-sdk/client-s3.
 */
export { S3Store, isRetryable, openS3Store, parseS3Url, withRetry } from './store/s3/index.ts';
export type { OpenS3Options, RetryOptions, S3Location, S3StoreOptions } from './store/s3/index.ts';
