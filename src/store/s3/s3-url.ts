/** @module Parses `s3://bucket/prefix` repository URLs. */
import { EngramError } from '../../errors/index.ts';

/** The parts of an `s3://` URL. */
export interface S3Location {
  readonly bucket: string;
  /** Key prefix of the repository inside the bucket, without leading or trailing `/` ('' = root). */
  readonly prefix: string;
}

/** Splits `s3://bucket/some/prefix` into bucket and prefix; `InvalidArgument` when malformed. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/?#]+)\/*([^?#]*)$/i.exec(url);
  const bucket = m?.[1] ?? '';
  // DNS-style bucket names: what S3 and RGW accept, and what fits in a path-style URL unescaped.
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new EngramError('InvalidArgument', `not an S3 repository URL: ${url} (expected s3://bucket/prefix, bucket in lower case)`, { url });
  }
  const prefix = decodeURIComponent(m[2] ?? '').replace(/\/+$/, '');
  if (prefix.split('/').some((seg) => seg === '' || seg === '.' || seg === '..') && prefix !== '') {
    throw new EngramError('InvalidArgument', `S3 prefix ${JSON.stringify(prefix)} has an empty, . or .. segment`, { url });
  }
  return { bucket, prefix };
}
