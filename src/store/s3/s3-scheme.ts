/**
 * @module The `s3:` URL scheme: opening an S3Store from an `s3://bucket/prefix` URL and the
 * environment. store/open-store.ts imports this module on first use of such a URL, and the
 * `engram/s3` subpath imports it eagerly, so only those load @aws-sdk/client-s3.
 *
 * The endpoint, credentials and region come from the options, else from the usual AWS variables:
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the SDK's
 * credential chain), AWS_REGION or AWS_DEFAULT_REGION (default us-east-1).
 */
import { registerStoreScheme } from '../open-store.ts';
import { S3Store, type S3StoreOptions } from './s3-store.ts';
import { parseS3Url } from './s3-url.ts';


/** Options of {@link openS3Store}: everything of S3StoreOptions except what the URL says. */
export type OpenS3Options = Omit<S3StoreOptions, 'bucket' | 'prefix'>;

/**
 * Opens the store an `s3://bucket/prefix` URL names, filling endpoint, credentials and region from
 * the environment where `options` leave them out.
 *
 * @example
 * const store = await openS3Store('s3://checkpoints/llm', { endpoint: 'http://127.0.0.1:7480' });
 * const repo = await Repository.open(store.location, { store });
 */
export async function openS3Store(url: string, options: OpenS3Options = {}): Promise<S3Store> {
  const { bucket, prefix } = parseS3Url(url);
  const env = process.env;
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const credentials =
    options.credentials ??
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined);
  return new S3Store({
    ...options,
    bucket,
    prefix,
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

// engram pins the SDK (package.json), so the SDK's notice that its *future* releases will need
// Node 22 does not apply, and it would print on every CLI run. Users can still turn it back on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

registerStoreScheme('s3:', (url) => openS3Store(url));
