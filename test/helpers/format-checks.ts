/** Checks shared by the format readers' tests: rebuilding a file from its layout, counting reads, FormatError shape. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isEngramError } from '../../src/errors/index.ts';
import { rebuildFile, type ByteSource, type IngestedFile } from '../../src/formats/index.ts';

/** Hex SHA-256. */
export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Loads every tensor and rebuilds the file from its layout. */
export async function rebuild(file: IngestedFile): Promise<Uint8Array> {
  const bytes = new Map<string, Uint8Array>();
  for (const t of file.tensors) bytes.set(t.name, await t.load());
  return rebuildFile(file, (n) => bytes.get(n)!);
}

/** A ByteSource that records the ranges read through it, and how many bytes were requested in all. */
export function counting(src: ByteSource): ByteSource & { reads: [number, number][]; requested: number } {
  const c = {
    name: src.name, size: src.size, reads: [] as [number, number][], requested: 0,
    async read(o: number, l: number) { c.reads.push([o, l]); c.requested += l; return src.read(o, l); },
    close: () => src.close(),
  };
  return c;
}

/** An assert.rejects/throws predicate: a FormatError whose message names `name`. */
export const isFormatError = (name: string) => (e: unknown): boolean => {
  assert.ok(isEngramError(e, 'FormatError'), `expected FormatError, got ${String(e)}`);
  assert.ok(e.message.includes(name), `message does not name the file: ${e.message}`);
  return true;
};
