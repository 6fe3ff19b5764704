/**
 * The one conformance suite every tensor file format passes (issue 13 item 3), in the style of the
 * ObjectStore suite: {@link formatConformance} registers, for one format, that it reads what it
 * writes, rebuilds every real fixture byte for byte from the reader's layout, refuses malformed
 * input (truncations, byte flips) with a typed EngramError or reads it exactly, and asks its
 * ByteSource for no byte past the end and for a bounded number of bytes in all.
 *
 * It is written against the public functions of src/formats/index.ts only (readTensorFile,
 * writeTensorFileAsync / streamTensorFile / writeTensorDirectory, canHold, rebuildFile), so a
 * format is correct when it behaves as this suite says, however its reader is built.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bufferSource, canHold, openFileSource, readTensorFile, streamTensorDirectory, streamTensorFile, writeModelDirectory, writeTensorDirectory, writeTensorFileAsync,
  WRITABLE_FORMATS, type ByteSource, type FormatName, type IngestedFile, type ReadTensorFileOptions, type TensorFileInput, type WritableFormat,
} from '../../src/formats/index.ts';
import { DENSE_DTYPES, dtypeSize, type DType } from '../../src/tensor/index.ts';
import { counting, rebuild } from '../helpers/format-checks.ts';
import { prng } from '../helpers/fuzz.ts';

/** The fixtures folder; {@link FormatConformanceEntry.fixtures} are relative to it. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** One format as the suite sees it: the registry's facts plus the suite's real fixtures for it. */
export interface FormatConformanceEntry {
  /** The registry's name of the format (`WRITABLE_FORMATS` spelling for a writable one: pt, h5). */
  readonly name: string;
  /** File name endings the format is recognised by; the first names the files the suite writes. */
  readonly extensions: readonly string[];
  /** Files written by real tools, relative to test/fixtures/ (≥ 1). */
  readonly fixtures: readonly string[];
  /** True when engram writes the format (it is then one of `WRITABLE_FORMATS`). */
  readonly writable: boolean;
  /** `IngestedFile.format` a read of one of its files reports (the reader's name: pytorch, hdf5). */
  readonly format: FormatName;
  /**
   * What a read (tensors not loaded) may request beyond twice the literal bytes it keeps (read once
   * to parse, once to hand out) and 8 KiB: its read-ahead (a GGUF cursor, protobuf or pickle read
   * through 64 KiB windows), or 'file' when the whole file is read (HDF5: libhdf5 is handed it
   * whole). Default 0.
   */
  readonly readAhead?: number | 'file';
  /** True when a file holds exactly one tensor, read back under the name '' (a bare .npy). */
  readonly single?: boolean;
}

/**
 * Cases of malformed input per fixture: truncation points spread over the structure (the literal
 * segments), more over its first 256 bytes (magic, version, header length), a few in the tensor
 * data, and single-byte flips over the structure. Counts, not a time budget, bound the work.
 */
export const MALFORMED_CASES = { truncateStructure: 48, truncateHead: 16, truncateData: 6, flips: 48 } as const;

/** A file this large (1 MiB) is read by its header: at most 1/32 of it, unless the format reads files whole. */
export const LARGE = 1 << 20;

/** Shapes the round trip writes: a scalar, empty tensors, a vector, a matrix. */
const SHAPES: readonly (readonly number[])[] = [[], [0], [5], [2, 3], [2, 0, 3]];

/** Error codes that are a typed refusal of malformed input. */
const REFUSALS = ['FormatError', 'IntegrityMismatch', 'Unsupported', 'InvalidArgument', 'UnsafePickle'] as const;

const isRefusal = (e: unknown): boolean => REFUSALS.some((code) => isEngramError(e, code));

/** The most bytes a read of `file` (tensors not loaded) may request from its source. */
export function requestBound(entry: FormatConformanceEntry, file: Pick<IngestedFile, 'size' | 'literal'>): number {
  const ahead = entry.readAhead === 'file' ? file.size : entry.readAhead ?? 0;
  return 2 * file.literal.byteLength + 8192 + ahead;
}

/** A counting ByteSource that also lists the reads that ask for bytes past the end (before passing them on, to be refused). */
function recording(src: ByteSource): ReturnType<typeof counting> & { past: [number, number][] } {
  const c = counting(src);
  const past: [number, number][] = [];
  const read = c.read.bind(c);
  return Object.assign(c, {
    past,
    read: async (o: number, l: number) => {
      if (o < 0 || l < 0 || o + l > src.size) past.push([o, l]);
      return read(o, l);
    },
  });
}

/** Deterministic bytes of `n` elements of `dtype` (BOOL as 0/1; every other dtype any bit pattern). */
function tensorBytes(dtype: DType, n: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(n * dtypeSize(dtype));
  for (let i = 0; i < out.length; i++) out[i] = dtype === 'BOOL' ? (rnd() < 0.5 ? 1 : 0) : Math.floor(rnd() * 256);
  return out;
}

/** One tensor of every dtype `format` can hold, in every shape of {@link SHAPES}. */
function everyHeldTensor(format: WritableFormat): TensorFileInput[] {
  const out: TensorFileInput[] = [];
  for (const [s, shape] of SHAPES.entries()) {
    for (const [d, dtype] of DENSE_DTYPES.entries()) {
      if (!canHold(format, dtype)) continue;
      out.push({ name: `layer${s}.${dtype.toLowerCase()}`, dtype, shape, data: tensorBytes(dtype, shape.reduce((a, b) => a * b, 1), 100 * s + d) });
    }
  }
  return out;
}

/** Asserts that `file` holds exactly `set`: the same names (in any order), dtypes, shapes and bytes. */
async function assertHolds(entry: FormatConformanceEntry, file: IngestedFile, set: readonly TensorFileInput[], what: string): Promise<void> {
  assert.equal(file.format, entry.format, `${what}: read as ${file.format} ${file.opaqueReason ?? ''}`);
  const name = (t: TensorFileInput): string => (entry.single ? '' : t.name);
  assert.deepEqual(file.tensors.map((t) => t.name).sort(), set.map(name).sort(), what);
  for (const want of set) {
    const got = file.tensors.find((t) => t.name === name(want))!;
    assert.equal(got.dtype, want.dtype, `${what}: ${want.name}`);
    assert.deepEqual(got.shape, want.shape, `${what}: ${want.name}`);
    assert.equal(got.byteLength, want.data.byteLength, `${what}: ${want.name}`);
    assert.ok(Buffer.from(await got.load()).equals(want.data), `${what}: ${want.name} bytes differ`);
  }
}

/** Writes `tensors` as `format` and reads the result back through readTensorFile, with its recorded source. */
async function writeThenRead(entry: FormatConformanceEntry, format: WritableFormat, tensors: readonly TensorFileInput[]): Promise<{ file: IngestedFile; bytes: Uint8Array; src: ReturnType<typeof recording>; requested: number }> {
  if (format === 'tfjs') {
    const dir = await mkdtemp(join(tmpdir(), 'engram-conformance-'));
    try {
      await writeModelDirectory(dir, writeTensorDirectory('tfjs', tensors));
      const path = join(dir, 'model.json');
      const src = recording(await openFileSource(path));
      try {
        const file = await readTensorFile(src);
        const requested = src.requested;
        // Loaded here, while the shards beside it still exist.
        const loaded = await Promise.all(file.tensors.map(async (t) => new Uint8Array(await t.load())));
        const frozen = file.tensors.map((t, i) => ({ ...t, load: async () => loaded[i]! }));
        return { file: { ...file, tensors: frozen }, bytes: new Uint8Array(await readFile(path)), src, requested };
      } finally {
        await src.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const bytes = await writeTensorFileAsync(format, tensors);
  const src = recording(bufferSource(`conformance${entry.extensions[0]}`, bytes));
  const file = await readTensorFile(src);
  return { file, bytes, src, requested: src.requested };
}

/** The file offsets of `file`'s literal segments, and of its tensor segments, in file order. */
function segmentOffsets(file: IngestedFile): { literal: [number, number][]; tensor: [number, number][] } {
  const literal: [number, number][] = [];
  const tensor: [number, number][] = [];
  let p = 0;
  for (const s of file.segments) {
    if (s.length > 0) (s.kind === 'literal' ? literal : tensor).push([p, s.length]);
    p += s.length;
  }
  return { literal, tensor };
}

/** `count` offsets spread evenly (every k-th byte, k = total / count, at least 1) over `ranges`, shifted by `phase` of a step. */
function spread(ranges: readonly [number, number][], count: number, phase = 0): number[] {
  const total = ranges.reduce((n, [, l]) => n + l, 0);
  if (total === 0) return [];
  const step = Math.max(1, total / count);
  const out = new Set<number>();
  for (let k = phase * step; k < total && out.size < count; k += step) {
    let rest = Math.floor(k);
    for (const [at, l] of ranges) {
      if (rest < l) {
        out.add(at + rest);
        break;
      }
      rest -= l;
    }
  }
  return [...out];
}

/** The first `n` bytes of `ranges`. */
function prefix(ranges: readonly [number, number][], n: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [at, l] of ranges) {
    if (n <= 0) break;
    out.push([at, Math.min(l, n)]);
    n -= l;
  }
  return out;
}

/** Registers the conformance tests for one format. */
export function formatConformance(entry: FormatConformanceEntry): void {
  describe(`format conformance: ${entry.name}`, () => {
    const writable = (WRITABLE_FORMATS as readonly string[]).includes(entry.name);
    const format = entry.name as WritableFormat;
    // As the HDF5 fuzz suite does: libhdf5 loops on some mutated files, and only its limit stops it
    // there; giving up is a typed refusal the contract accepts, so no outcome depends on the clock.
    // (Only HDF5 reads look at the option.)
    const mutatedOptions = (size: number): ReadTensorFileOptions => ({ hdf5: { timeoutMs: 750 + Math.ceil(size / 5000) } });

    test('the table agrees with WRITABLE_FORMATS and names at least one fixture', () => {
      assert.equal(entry.writable, writable, `${entry.name}: writable is ${entry.writable} but WRITABLE_FORMATS ${writable ? 'lists' : 'does not list'} it`);
      assert.ok(entry.fixtures.length > 0, `${entry.name} has no fixture`);
      assert.ok(entry.extensions.length > 0 && entry.extensions.every((e) => e.startsWith('.')), `${entry.name}: extensions ${JSON.stringify(entry.extensions)}`);
    });

    if (entry.writable) {
      test('reads what it writes: every dtype canHold admits, scalar, empty and dense shapes, same names, dtypes, shapes and bytes', async () => {
        const tensors = everyHeldTensor(format);
        assert.ok(tensors.length >= SHAPES.length, `${entry.name} holds no dtype`);
        const sets = entry.single ? tensors.map((t) => [t]) : [tensors];
        for (const set of sets) {
          const { file, bytes, src, requested } = await writeThenRead(entry, format, set);
          const what = `${entry.name} ${set.length === 1 ? set[0]!.name : `${set.length} tensors`}`;
          await assertHolds(entry, file, set, what);
          assert.ok(Buffer.from(await rebuild(file)).equals(bytes), `${what}: the written file does not rebuild from its layout`);
          assert.deepEqual(src.past, [], `${what}: reads past the end`);
          assert.ok(requested <= requestBound(entry, file), `${what}: requested ${requested} bytes of a ${bytes.length}-byte file (bound ${requestBound(entry, file)})`);
        }
      });

      test('a large file it wrote is read by its header: no byte past the end, and a small fraction of the file', async () => {
        // 4 MiB of F32 (every writable format holds F32), and a small tensor beside it.
        const big = { name: 'big.weight', dtype: 'F32' as const, shape: [1024, 1024], data: tensorBytes('F32', 1 << 20, 7) };
        const set = entry.single ? [big] : [big, { name: 'small.bias', dtype: 'F32' as const, shape: [3], data: tensorBytes('F32', 3, 8) }];
        const { file, bytes, src, requested } = await writeThenRead(entry, format, set);
        await assertHolds(entry, file, set, `${entry.name} large`);
        assert.deepEqual(src.past, [], 'reads past the end');
        assert.ok(requested <= requestBound(entry, file), `requested ${requested} bytes of a ${bytes.length}-byte file (bound ${requestBound(entry, file)})`);
        // (A TF.js model.json holds no tensor bytes: it is small whatever the model's size.)
        if (entry.readAhead !== 'file' && bytes.length >= LARGE) assert.ok(requested <= bytes.length / 32, `requested ${requested} bytes of a ${bytes.length}-byte file`);
      });

      test('refuses every dtype canHold refuses with Unsupported, before writing', async () => {
        const refused: DType[] = [...DENSE_DTYPES.filter((d) => !canHold(format, d)), 'opaque:Q4_K'];
        for (const dtype of refused) {
          const t = { name: 'x', dtype, shape: [4], data: new Uint8Array(4 * dtypeSize(dtype)) };
          const write = async (): Promise<unknown> => (format === 'tfjs' ? writeTensorDirectory('tfjs', [t]) : writeTensorFileAsync(format, [t]));
          await assert.rejects(write(), (e) => isEngramError(e, 'Unsupported'), `${entry.name} ${dtype}`);
        }
      });

      if (format !== 'tfjs') {
        test('streamTensorFile gives what writeTensorFile gives (the same bytes where the writer is deterministic)', async () => {
          const tensors = everyHeldTensor(format);
          for (const set of entry.single ? tensors.map((t) => [t]) : [tensors]) {
            const whole = await writeTensorFileAsync(format, set);
            const pieces: Uint8Array[] = [];
            const lazy = set.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, load: async () => t.data }));
            for await (const piece of streamTensorFile(format as Exclude<WritableFormat, 'tfjs'>, lazy)) pieces.push(new Uint8Array(piece));
            const streamed = new Uint8Array(Buffer.concat(pieces));
            const what = `${entry.name} ${set[0]!.name}: streamed`;
            await assertHolds(entry, await readTensorFile(bufferSource(`streamed${entry.extensions[0]}`, streamed)), set, what);
            // Byte for byte where the writer is deterministic: libhdf5 stamps object headers with the time
            // in seconds, and the stream ran between two writes, so when those agree it must agree too.
            const again = await writeTensorFileAsync(format, set);
            if (Buffer.from(again).equals(whole)) assert.ok(Buffer.from(streamed).equals(whole), `${what} bytes differ from writeTensorFile's`);
          }
        });
      } else {
        test('streamTensorDirectory gives the files writeTensorDirectory gives, byte for byte', async () => {
          const tensors = everyHeldTensor(format);
          const whole = writeTensorDirectory('tfjs', tensors);
          const lazy = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, load: async () => t.data }));
          const streamed: { path: string; bytes: Uint8Array }[] = [];
          for (const f of streamTensorDirectory('tfjs', lazy)) {
            const pieces: Uint8Array[] = [];
            for await (const piece of f.pieces) pieces.push(new Uint8Array(piece));
            streamed.push({ path: f.path, bytes: new Uint8Array(Buffer.concat(pieces)) });
          }
          assert.deepEqual(streamed.map((f) => f.path), whole.map((f) => f.path));
          for (const [i, f] of streamed.entries()) assert.ok(Buffer.from(f.bytes).equals(whole[i]!.bytes), `${f.path} differs`);
        });
      }
    }

    for (const fixture of entry.fixtures) {
      const path = join(FIXTURES_DIR, fixture);

      test(`${fixture}: rebuilds byte for byte from the reader's layout`, async () => {
        const bytes = new Uint8Array(await readFile(path));
        const src = await openFileSource(path);
        try {
          const file = await readTensorFile(src);
          assert.equal(file.format, entry.format, `read as ${file.format} ${file.opaqueReason ?? ''}`);
          assert.equal(file.size, bytes.length);
          assert.ok(file.tensors.length > 0 || file.segments.length > 0, 'no layout');
          const back = await rebuild(file);
          assert.equal(back.length, bytes.length, 'rebuilt length');
          assert.ok(Buffer.from(back).equals(bytes), 'rebuilt bytes differ');
        } finally {
          await src.close();
        }
      });

      test(`${fixture}: reading requests no byte past the end and a bounded number of bytes`, async () => {
        const src = recording(await openFileSource(path));
        try {
          const file = await readTensorFile(src);
          assert.deepEqual(src.past, [], 'reads past the end');
          const bound = requestBound(entry, file);
          assert.ok(src.requested <= bound, `requested ${src.requested} bytes of a ${src.size}-byte file (literal ${file.literal.byteLength}; bound ${bound})`);
          // A large file is read by its header: a small fraction of it, unless the format reads it whole.
          if (entry.readAhead !== 'file' && src.size >= LARGE) assert.ok(src.requested <= src.size / 32, `requested ${src.requested} bytes of a ${src.size}-byte file`);
          const before = src.requested;
          for (const t of file.tensors) await t.load();
          assert.deepEqual(src.past, [], 'loads read past the end');
          assert.ok(src.requested - before <= src.size + 8192, `loading requested ${src.requested - before} bytes of a ${src.size}-byte file`);
        } finally {
          await src.close();
        }
      });

      test(`${fixture}: truncations and byte flips read exactly or are refused with a typed EngramError`, async (t) => {
        const original = new Uint8Array(await readFile(path));
        const intact = await readTensorFile(bufferSource(path, original));
        const { literal, tensor } = segmentOffsets(intact);
        const rnd = prng(original.length);
        const cases: { what: string; bytes: Uint8Array }[] = [];
        const cuts = new Set([
          0, original.length - 1, ...spread(literal, MALFORMED_CASES.truncateStructure), ...spread(prefix(literal, 256), MALFORMED_CASES.truncateHead),
          ...spread(tensor, MALFORMED_CASES.truncateData, 0.5),
        ]);
        for (const at of [...cuts].sort((a, b) => a - b)) if (at >= 0 && at < original.length) cases.push({ what: `truncated to ${at}`, bytes: original.subarray(0, at) });
        // The structure is where a flip matters; a file that is all tensor data (a shard) is flipped there.
        for (const [i, at] of spread(literal.length > 0 ? literal : tensor, MALFORMED_CASES.flips, 0.5).entries()) {
          const bytes = original.slice();
          const mask = i % 2 === 0 ? 1 << Math.floor(rnd() * 8) : 0xff;
          bytes[at]! ^= mask;
          cases.push({ what: `byte ${at} ^ 0x${mask.toString(16)}`, bytes });
        }
        const failures: string[] = [];
        const tally = new Map<string, number>();
        for (const c of cases) {
          const src = recording(bufferSource(path, c.bytes));
          try {
            const file = await readTensorFile(src, mutatedOptions(c.bytes.length));
            for (const tensor of file.tensors) {
              const data = await tensor.load();
              if (data.byteLength !== tensor.byteLength) failures.push(`${c.what}: ${tensor.name} loaded ${data.byteLength} bytes, said ${tensor.byteLength}`);
            }
            if (!Buffer.from(await rebuild(file)).equals(c.bytes)) failures.push(`${c.what}: read as ${file.format} but does not rebuild the file`);
            tally.set(`read as ${file.format}`, (tally.get(`read as ${file.format}`) ?? 0) + 1);
          } catch (e) {
            if (!isRefusal(e)) failures.push(`${c.what}: ${e instanceof Error ? e.stack : String(e)}`);
            else tally.set((e as { code: string }).code, (tally.get((e as { code: string }).code) ?? 0) + 1);
          }
          // Including the loads after a read: the file once for the structure, once more for the tensors.
          const bound = requestBound(entry, intact) + 2 * c.bytes.length;
          if (src.requested > bound) failures.push(`${c.what}: requested ${src.requested} bytes of a ${c.bytes.length}-byte file (bound ${bound})`);
        }
        t.diagnostic(`${cases.length} cases: ${JSON.stringify(Object.fromEntries(tally))}`);
        assert.deepEqual(failures, [], `${fixture}: ${failures.length} of ${cases.length} cases fail the contract`);
      });
    }
  });
}
