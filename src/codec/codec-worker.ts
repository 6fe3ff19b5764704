/**
 * @module The body of a codec worker thread: encodes and decodes chunk objects off the main thread,
 * so that byte-grouping, plane statistics, rANS and hashing use every core. Messages are
 * {@link CodecRequest}s; replies carry the result or a serialised error.
 */
import { parentPort } from 'node:worker_threads';
import { EngramError } from '../errors/index.ts';
import { decodeChunk, encodeChunk } from './chunk-codec.ts';
import { sha256Hex } from './hash.ts';
import { threadScratch } from './scratch-pool.ts';
import type { CodecReply, CodecRequest } from './codec-pool.ts';

const port = parentPort;
if (!port) throw new Error('codec-worker.ts must run in a worker thread');

port.postMessage('ready');
port.on('message', (req: CodecRequest) => {
  // Buffers the caller has finished with: the next results are coded into them.
  for (const b of req.returns ?? []) threadScratch.give(new Uint8Array(b));
  void handle(req).then(
    (reply) => port.postMessage(reply, reply.ok ? [reply.bytes.buffer as ArrayBuffer, ...(reply.spares ?? [])] : []),
    (e: unknown) => {
      const err = e instanceof EngramError ? { code: e.code, message: e.message, data: e.data }
        : { code: 'IOError' as const, message: `codec worker failed: ${(e as Error)?.message ?? String(e)}`, data: {} };
      const reply: CodecReply = { id: req.id, ok: false, error: err };
      port.postMessage(reply);
    },
  );
});

async function handle(req: CodecRequest): Promise<CodecReply> {
  if (req.op === 'encode') {
    const base = req.base ? { hash: req.base.hash, bytes: req.base.bytes } : undefined;
    // Hash first: encoding does not change the input, but the hash must be of exactly these bytes.
    const hash = req.hash ? sha256Hex(req.raw) : undefined;
    const bytes = await encodeChunk(req.raw, { width: req.width, level: req.level, base });
    // The input buffers go back to the pool for the next copies; the encoding never aliases them
    // (encodeChunk always writes a new object).
    const spares = [req.raw.buffer as ArrayBuffer, ...(req.base ? [req.base.bytes.buffer as ArrayBuffer] : [])];
    return { id: req.id, ok: true, bytes, spares, hash };
  }
  const bytes = await decodeChunk(req.encoded, {
    expectedHash: req.expectedHash,
    getBase: async (hash) => {
      if (!req.base || req.base.hash !== hash) throw new EngramError('IntegrityMismatch', `chunk ${hash} was not provided as a base`, { chunk: hash, reason: 'missing' });
      return req.base.bytes;
    },
  });
  // A raw-stored chunk decodes to a view of the request's own buffer, which then goes back as the
  // result; otherwise the encoded buffer goes back as a spare, for the caller's next read.
  const spares = [...(bytes.buffer !== req.encoded.buffer ? [req.encoded.buffer as ArrayBuffer] : []), ...(req.base ? [req.base.bytes.buffer as ArrayBuffer] : [])];
  return { id: req.id, ok: true, bytes, spares };
}
