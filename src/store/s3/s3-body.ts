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
  return readStream(body, into ? into(length) : allocBody(length));
}

/** `length` bytes of uninitialised memory for a body, as a plain Uint8Array. */
export function allocBody(length: number): Uint8Array {
  // Uninitialised (not zero-filled) memory from the allocator: every byte is overwritten by the
  // reader, and the memory of transient chunk buffers already freed is reused instead of fresh pages touched.
  const buf = Buffer.allocUnsafeSlow(length);
  // A plain Uint8Array view: a Buffer's slice() shares memory where callers expect a copy.
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

/**
 * Reads `stream` (a body of exactly `out.byteLength` bytes) into `out`: more is refused before it is
 * stored, fewer is an {@link IncompleteBodyError}. Used for the SDK's bodies and the lean path's.
 */
export async function readStream(stream: Readable, out: Uint8Array): Promise<Uint8Array> {
  const length = out.byteLength;
  let at = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => {
      stream.off('data', onData);
      stream.destroy();
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
    stream.on('data', onData);
    stream.once('error', fail);
    stream.once('end', () => (at === length ? resolve() : reject(short())));
    // A stream destroyed without an error (a socket torn down under it) emits only 'close'; after
    // 'end' or 'error' this reject is a no-op.
    stream.once('close', () => reject(short()));
  });
  return out;
}
