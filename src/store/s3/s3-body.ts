/**
 * @module readBody: a GET answer's body into one buffer of the announced length. The SDK's
 * `transformToByteArray` keeps every socket chunk (64 KiB each) until the end and then copies them all
 * into a fresh array: twice the memory of the object at the peak, a second copy, and garbage. Reading
 * straight into a buffer of Content-Length costs one copy and bounds what a server can make us hold.
 */
import { Readable } from 'node:stream';

/** The shape of the SDK's response body that this module needs (a Node stream on Node). */
export interface SdkBody {
  transformToByteArray(): Promise<Uint8Array>;
}

/**
 * An answer that ended before its Content-Length: a connection lost mid-body. Its name is one of
 * the retryable ones (s3-retry.ts), so the request is tried again.
 */
export class IncompleteBodyError extends Error {
  override readonly name = 'IncompleteBody';
}

/**
 * The whole body, of exactly `length` bytes when the server announced one (more is refused before
 * it is stored, fewer is an {@link IncompleteBodyError}), read into `into(length)` when given (the
 * ObjectStore `buffer` option). Without a length, or on a runtime whose body is not a Node stream,
 * falls back to the SDK's own collection.
 */
export async function readBody(body: SdkBody | undefined, length: number | undefined, into?: (length: number) => Uint8Array): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  if (length === undefined || !(body instanceof Readable)) return body.transformToByteArray();
  let out: Uint8Array;
  if (into) out = into(length);
  else {
    // Uninitialised (not zero-filled) memory from the allocator: every byte is overwritten below, and
    // the memory of transient chunk buffers already freed is reused instead of fresh pages touched.
    const buf = Buffer.allocUnsafeSlow(length);
    // A plain Uint8Array view: a Buffer's slice() shares memory where callers expect a copy.
    out = new Uint8Array(buf.buffer, buf.byteOffset, length);
  }
  let at = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => {
      body.off('data', onData);
      body.destroy();
      reject(e);
    };
    const onData = (c: Buffer): void => {
      if (at + c.byteLength > length) {
        fail(new Error(`the answer ran past its Content-Length of ${length} bytes`));
        return;
      }
      out.set(c, at);
      at += c.byteLength;
    };
    const short = (): IncompleteBodyError => new IncompleteBodyError(`the answer ended after ${at} of its ${length} bytes`);
    body.on('data', onData);
    body.once('error', fail);
    body.once('end', () => (at === length ? resolve() : reject(short())));
    // A stream destroyed without an error (a socket torn down under it) emits only 'close'; after
    // 'end' or 'error' this reject is a no-op.
    body.once('close', () => reject(short()));
  });
  return out;
}
