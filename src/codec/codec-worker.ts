/**
 * @module The body of a codec worker thread: encodes and decodes chunk objects off the main thread,
 * so that byte-grouping, plane statistics, rANS and hashing use every core. Messages are
 * {@link CodecRequest}s; replies carry the result or a serialised error. Bytes arrive and leave
 * either moved with the message or in a shared slot (shared-slots.ts) the pool registered first.
 */
import { parentPort } from 'node:worker_threads';
import { EngramError } from '../errors/index.ts';
import { decodeChunk, encodeChunk } from './chunk-codec.ts';
import { decodeChain } from './chain-decode.ts';
import { sha256Hex } from './hash.ts';
import { threadScratch } from './scratch-pool.ts';
import type { CarriedBytes, CodecReply, CodecRequest } from './codec-pool.ts';

const port = parentPort;
if (!port) throw new Error('codec-worker.ts must run in a worker thread');

/** The shared slots, by number. */
const slots: SharedArrayBuffer[] = [];

/** The bytes a request carries: its moved buffer, or a view of the slot it names. */
function bytesOf(b: CarriedBytes): Uint8Array {
  return b instanceof Uint8Array ? b : new Uint8Array(slots[b.slot]!, 0, b.length);
}

/** Writes a result into slot `out` when it fits (else the thread's own memory, moved with the reply). */
function outputIn(out: number | undefined): ((length: number) => Uint8Array | undefined) | undefined {
  if (out === undefined) return undefined;
  const buffer = slots[out]!;
  return (length) => (length <= buffer.byteLength ? new Uint8Array(buffer, 0, length) : undefined);
}

/** What the reply carries for `bytes`: a slot reference when it is the slot's memory. */
function carried(bytes: Uint8Array, out: number | undefined): CarriedBytes {
  return out !== undefined && bytes.buffer === slots[out] ? { slot: out, length: bytes.byteLength } : bytes;
}

port.postMessage('ready');
port.on('message', (req: CodecRequest) => {
  if (req.op === 'slot') {
    slots[req.index] = req.buffer;
    return;
  }
  // Buffers the caller has finished with: the next results are coded into them.
  for (const b of req.returns ?? []) threadScratch.give(new Uint8Array(b));
  void handle(req).then(
    (reply) => {
      const moved = reply.ok && reply.bytes instanceof Uint8Array ? [reply.bytes.buffer as ArrayBuffer] : [];
      port.postMessage(reply, reply.ok ? [...moved, ...(reply.spares ?? [])] : []);
    },
    (e: unknown) => {
      const err = e instanceof EngramError ? { code: e.code, message: e.message, data: e.data }
        : { code: 'IOError' as const, message: `codec worker failed: ${(e as Error)?.message ?? String(e)}`, data: {} };
      const reply: CodecReply = { id: req.id, ok: false, error: err };
      port.postMessage(reply);
    },
  );
});

/** Moved (not shared) input buffers of a request, to send back as spares. */
function movedBuffers(...bytes: (CarriedBytes | undefined)[]): ArrayBuffer[] {
  return bytes.filter((b): b is Uint8Array => b instanceof Uint8Array).map((b) => b.buffer as ArrayBuffer);
}

async function handle(req: Exclude<CodecRequest, { op: 'slot' }>): Promise<CodecReply> {
  const output = outputIn(req.out);
  if (req.op === 'encode') {
    const raw = bytesOf(req.raw);
    const base = req.base ? { hash: req.base.hash, bytes: bytesOf(req.base.bytes) } : undefined;
    // Hash first: encoding does not change the input, but the hash must be of exactly these bytes.
    const hash = req.hash ? sha256Hex(raw) : undefined;
    const bytes = await encodeChunk(raw, { width: req.width, level: req.level, base, output });
    // The moved input buffers go back to the pool for the next copies; the encoding never aliases
    // them (encodeChunk always writes a new object).
    return { id: req.id, ok: true, bytes: carried(bytes, req.out), spares: movedBuffers(req.raw, req.base?.bytes), hash };
  }
  if (req.op === 'decode-chain') {
    const base = req.base ? { hash: req.base.hash, bytes: bytesOf(req.base.bytes) } : undefined;
    const bytes = await decodeChain(req.links.map((l) => ({ hash: l.hash, encoded: bytesOf(l.encoded) })), { expectedHash: req.expectedHash, base, output });
    return { id: req.id, ok: true, bytes: carried(bytes, req.out), spares: movedBuffers(...req.links.map((l) => (bytes.buffer === bytesOf(l.encoded).buffer ? undefined : l.encoded)), req.base?.bytes) };
  }
  const encoded = bytesOf(req.encoded);
  const bytes = await decodeChunk(encoded, {
    expectedHash: req.expectedHash,
    output,
    getBase: async (hash) => {
      if (!req.base || req.base.hash !== hash) throw new EngramError('IntegrityMismatch', `chunk ${hash} was not provided as a base`, { chunk: hash, reason: 'missing' });
      return bytesOf(req.base.bytes);
    },
  });
  // A raw-stored chunk decoded without an output slot is a view of the request's own buffer, which
  // then goes back as the result; otherwise a moved encoded buffer goes back as a spare.
  const spares = movedBuffers(bytes.buffer === encoded.buffer ? undefined : req.encoded, req.base?.bytes);
  return { id: req.id, ok: true, bytes: carried(bytes, req.out), spares };
}
