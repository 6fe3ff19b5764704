/**
 * @module verify(): reads every chunk every snapshot needs, re-hashes it, and checks manifests and
 * refs. Problems are returned as findings (values), not thrown: a damaged repository is an expected
 * outcome of verification. Damaged tag and run-head events come in from Repository.verify.
 */
import type { CodecPool } from '../codec/index.ts';
import { isEngramError } from '../errors/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { ChunkReader } from './chunk-reader.ts';
import type { SnapshotManifest } from './manifest.ts';
import { eachConcurrently } from './each-concurrently.ts';

/** One problem verify found. */
export interface VerifyFinding {
  /** `damaged-ref`: a tag event (`refs/…`) or run-head event (`heads/…`) that fails its checksum or shape. */
  readonly kind: 'corrupt-chunk' | 'missing-chunk' | 'damaged-manifest' | 'dangling-ref' | 'damaged-ref';
  readonly message: string;
  readonly snapshot?: string;
  /** The tensor, blob or file that depends on the damaged chunk. */
  readonly item?: string;
  readonly chunk?: string;
  readonly ref?: string;
  /** The damaged object's key (damaged refs). */
  readonly key?: string;
}

/** The outcome of verify. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly snapshots: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly findings: readonly VerifyFinding[];
}

/** Every item (tensor/blob/file) of a manifest that uses each chunk. */
function usersOf(m: SnapshotManifest): Map<string, string[]> {
  const users = new Map<string, string[]>();
  const add = (hash: string, item: string): void => {
    const list = users.get(hash) ?? [];
    if (!list.includes(item)) list.push(item);
    users.set(hash, list);
  };
  for (const [n, t] of Object.entries(m.tensors)) for (const r of t.chunks) add(r.hash, `tensor ${n}`);
  // A sharded tensor's chunks are its shards' (distributed saves); `chunks` is then empty.
  for (const [n, t] of Object.entries(m.tensors)) for (const sh of t.shards ?? []) for (const r of sh.chunks) add(r.hash, `tensor ${n}`);
  for (const [n, b] of Object.entries(m.blobs)) for (const r of b.chunks) add(r.hash, `blob ${n}`);
  for (const f of m.files) for (const r of f.literal.chunks) add(r.hash, `file ${f.path}`);
  for (const [hash, info] of Object.entries(m.chunks)) if (info.base) add(info.base, `base of chunk ${hash}`);
  return users;
}

/** Checks every chunk of `manifests` (each read once) plus the damaged manifests and refs given. */
export async function verifyManifests(
  store: ObjectStore,
  codecs: CodecPool,
  manifests: readonly SnapshotManifest[],
  damaged: readonly VerifyFinding[],
  refs: ReadonlyMap<string, string>,
  onProgress?: (done: number, total: number) => void,
): Promise<VerifyReport> {
  const findings: VerifyFinding[] = [...damaged];
  const reader = new ChunkReader(store, { cacheBytes: 0, pool: codecs });
  const users = new Map<string, { snapshot: string; item: string }[]>();
  for (const m of manifests) {
    for (const [hash, items] of usersOf(m)) {
      const list = users.get(hash) ?? [];
      for (const item of items) list.push({ snapshot: m.id, item });
      users.set(hash, list);
    }
  }
  const hashes = [...users.keys()];
  let bytes = 0;
  let done = 0;
  await eachConcurrently(hashes, 4, async (hash) => {
    try {
      // Await first: `bytes += await …` would read `bytes` before the await and lose the other
      // workers' additions.
      const raw = await reader.chunk(hash, 'verify');
      bytes += raw.byteLength;
    } catch (e) {
      if (!isEngramError(e, 'IntegrityMismatch')) throw e;
      const missing = e.data.reason === 'missing';
      for (const u of users.get(hash)!) {
        findings.push({
          kind: missing ? 'missing-chunk' : 'corrupt-chunk',
          message: `snapshot ${u.snapshot}: ${u.item}: chunk ${hash} is ${missing ? 'missing' : 'corrupt'}`,
          snapshot: u.snapshot, item: u.item, chunk: hash,
        });
      }
    }
    onProgress?.(++done, hashes.length);
  });
  const ids = new Set(manifests.map((m) => m.id));
  for (const [ref, target] of refs) {
    if (!ids.has(target)) findings.push({ kind: 'dangling-ref', message: `tag ${ref} points at ${target}, which is not a readable snapshot`, ref });
  }
  return { ok: findings.length === 0, snapshots: manifests.length, chunks: hashes.length, bytes, findings };
}
