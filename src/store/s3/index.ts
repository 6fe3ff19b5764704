/**
 * @module The S3 backend's surface, kept out of store/index.ts so that importing store/ never loads
 * @aws-sdk/client-s3. Importing this module registers the `s3:` URL scheme.
 */
export { S3Store, type S3StoreOptions } from './s3-store.ts';
export { parseS3Url, type S3Location } from './s3-url.ts';
export { isRetryable, withRetry, type RetryOptions } from './s3-retry.ts';
export { openS3Store, type OpenS3Options } from './s3-scheme.ts';
