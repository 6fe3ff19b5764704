/**
 * @module ChunkReader: fetches chunk objects, decodes them and re-hashes what they decode to. A
 * mismatch is an `IntegrityMismatch` naming the item (tensor, blob, file) and the chunk — wrong
 * bytes are never returned as weights. Decoded chunks are cached within a byte budget, because
 * bundles hold many small tensors.
 */
import { EngramError, isEngramError } from '../errors/index.ts';
import { type ObjectStore } from '../store/index.ts';
import { CodecPool, readChunkHeader, type ChainLink } from '../codec/index.ts';
import { chunkKey } from './chunk-key.ts';
import type { ChunkInfo, ChunkRef } from './manifest.ts';
import { eachConcurrently } from './each-concurrently.ts';

/** Links of one delta chain fetched together at most (chains are bounded far below this by delta.maxDepth). */
const MAX_PLANNED_LINKS = 16;

/** A fetch under way and who is waiting for it. */
interface Fetch {
  readonly item: string;
  result: Promise<{ raw: Uint8Array; owned: boolean }>;
  /** A second reader joined: no one may recycle the result. */
  shared: boolean;
  /** Some reader wants it cached. */
  keep: boolean;
}

/** Reads and verifies chunks of one repository. */
export class ChunkReader {
  readonly #store: ObjectStore;
  readonly #pool: CodecPool;
  readonly #budget: number;
  #cached = 0;
  readonly #cache = new Map<string, Uint8Array>();
  // Fetches under way, so that two readers of one chunk (tensors sharing a bundle, ranks' regions
  // meeting inside a chunk, chains sharing a base) fetch and decode it once. `shared`: a second
  // reader joined, so no one may recycle the result; `keep`: some reader wants it cached.
  readonly #inflight = new Map<string, Fetch>();

  constructor(store: ObjectStore, options: { cacheBytes?: number; pool?: CodecPool } = {}) {
    this.#store = store;
    this.#pool = options.pool ?? CodecPool.shared();
    this.#budget = options.cacheBytes ?? 64 * 1024 * 1024;
  }

  /**
   * The verified raw bytes of chunk `hash`; `item` names what needed it, for errors. The result
   * may be cached and shared with other readers: treat it as read-only.
   */
  async chunk(hash: string, item: string, chain: readonly string[] = []): Promise<Uint8Array> {
    return (await this.#fetch(hash, item, chain, true)).raw;
  }

  /**
   * {@link chunk} for a caller done with the bytes before it needs many more (a file being written):
   * not cached, and `release` gives memory only this caller holds back to the codec pool, so the next
   * chunk decodes into it instead of being copied out into fresh memory. Call `release` once, when
   * done with every view of `raw`. With the manifest's `chunks`, a delta's chain is read as `read` does.
   */
  async borrow(hash: string, item: string, chunks?: Readonly<Record<string, ChunkInfo>>): Promise<{ raw: Uint8Array; release(): void }> {
    const { raw, owned } = await this.#fetch(hash, item, [], false, chunks);
    return { raw, release: () => void (owned && this.#pool.recycle(raw)) };
  }

  /**
   * {@link chunk}, saying whether the caller is the result's only holder (`owned`: neither cached
   * nor handed to another reader), who may then recycle its memory. `keep` caches it.
   */
  async #fetch(hash: string, item: string, chain: readonly string[], keep: boolean, chunks?: Readonly<Record<string, ChunkInfo>>): Promise<{ raw: Uint8Array; owned: boolean }> {
    const hit = this.#cache.get(hash);
    if (hit) return { raw: hit, owned: false };
    if (chain.includes(hash)) {
      // A damaged header naming a base further down its own chain: refuse rather than wait on itself.
      throw new EngramError('IntegrityMismatch', `${item}: chunk ${hash} is its own delta base (through ${chain.length} links)`, { item, chunk: hash, reason: 'base-cycle' });
    }
    const running = this.#inflight.get(hash);
    if (running) {
      running.shared = true;
      running.keep ||= keep;
      try {
        return { raw: (await running.result).raw, owned: false };
      } catch (e) {
        // The error names the item that started the fetch; say which one this caller was reading.
        if (isEngramError(e, 'IntegrityMismatch') && running.item !== item) {
          throw new EngramError('IntegrityMismatch', e.message.replace(running.item, item), { ...e.data, item }, { cause: e });
        }
        throw e;
      }
    }
    const entry: Fetch = { item, result: Promise.resolve({ raw: new Uint8Array(0), owned: false }), shared: false, keep };
    // Who holds the result is settled in the same step that ends the fetch, so no reader joins after
    // the decision: a sole reader gets it as decoded (perhaps a leased slot it must recycle); a
    // result that is shared or cached becomes memory of its own first.
    entry.result = this.#load(hash, item, [...chain, hash], chunks).then(
      (raw) => {
        this.#inflight.delete(hash);
        if (!entry.keep && !entry.shared) return { raw, owned: true };
        const own = this.#pool.unlease(raw);
        if (entry.keep) this.#remember(hash, own);
        return { raw: own, owned: false };
      },
      (e: unknown) => {
        this.#inflight.delete(hash);
        throw e;
      },
    );
    this.#inflight.set(hash, entry);
    return entry.result;
  }

  /**
   * Fetches, decodes and verifies chunk `hash`. With the manifest's `chunks` map, the links of its
   * delta chain that the map names (down to its keyframe, or to a link already cached or being
   * fetched) are fetched all at once and decoded in one request, only the result re-hashed
   * (codec/chain-decode.ts); without it, or for a keyframe, the object is read, then its base (read
   * and verified the same way), then decoded. The map is only a plan: every header is checked
   * against it, and a chain whose result does not verify is read again link by link, each link
   * verified, so that the error names the damaged one.
   */
  async #load(hash: string, item: string, chain: readonly string[], chunks?: Readonly<Record<string, ChunkInfo>>): Promise<Uint8Array> {
    const plan = [hash];
    for (let b = chunks?.[hash]?.base; b !== undefined && plan.length <= MAX_PLANNED_LINKS; b = chunks?.[b]?.base) {
      if (plan.includes(b) || chain.includes(b) || this.#cache.has(b) || this.#inflight.has(b)) break;
      plan.push(b);
    }
    const fetched = await Promise.allSettled(plan.map((h) => this.#get(h, item)));
    const links: ChainLink[] = [];
    let baseHash: string | undefined;
    try {
      // The links whose headers agree with the plan, from the top; a fetch that failed matters only
      // if the link above names it (then it is that link's missing base, as on the one-link path).
      for (let i = 0; i < plan.length; i++) {
        if (i > 0 && baseHash !== plan[i]) break;
        const f = fetched[i]!;
        if (f.status === 'rejected') throw i === 0 ? f.reason : this.#named(f.reason, hash, item);
        links.push({ hash: plan[i]!, encoded: f.value });
        baseHash = readChunkHeader(f.value).baseHash;
      }
    } catch (e) {
      for (const f of fetched) if (f.status === 'fulfilled') this.#pool.recycle(f.value);
      throw e;
    }
    for (const f of fetched.slice(links.length)) if (f.status === 'fulfilled') this.#pool.recycle(f.value);
    let base: { hash: string; bytes: Uint8Array } | undefined;
    try {
      // The base of the chain's last link (if any) is read and verified here, so the worker gets
      // everything it needs at once.
      if (baseHash) base = { hash: baseHash, bytes: await this.chunk(baseHash, item, [...chain, ...plan.slice(0, links.length)]) };
      if (links.length === 1) return await this.#pool.decode(links[0]!.encoded, { expectedHash: hash, base, lease: true });
    } catch (e) {
      // Still leased if the decode refused it before taking it over (a bad header).
      for (const l of links) this.#pool.recycle(l.encoded);
      throw this.#named(e, hash, item);
    }
    try {
      return await this.#pool.decodeChain(links, { expectedHash: hash, base, lease: true });
    } catch (e) {
      for (const l of links) this.#pool.recycle(l.encoded);
      if (!isEngramError(e, 'IntegrityMismatch')) throw e;
      // Which link is damaged: read the chain again, one verified link at a time.
      return this.#load(hash, item, chain);
    }
  }

  /** The object of chunk `hash`, read into a buffer leased from the codec pool. */
  async #get(hash: string, item: string): Promise<Uint8Array> {
    // Every buffer handed to the store: a retried read asks again, and only the last one is kept.
    const lent: Uint8Array[] = [];
    try {
      // Into a shared slot (or a buffer the codec workers gave back): fresh memory costs more to
      // touch than to fill, and a slot crosses to a worker without being moved.
      const encoded = await this.#store.get(chunkKey(hash), undefined, {
        buffer: (n) => {
          const b = this.#pool.buffer(n, { lease: true });
          lent.push(b);
          return b;
        },
      });
      for (const b of lent) if (b !== encoded) this.#pool.recycle(b);
      return encoded;
    } catch (e) {
      for (const b of lent) this.#pool.recycle(b);
      if (isEngramError(e, 'NotFound')) {
        throw new EngramError('IntegrityMismatch', `${item}: chunk ${hash} is missing from the store`, { item, chunk: hash, reason: 'missing' }, { cause: e });
      }
      throw e;
    }
  }

  /** An `IntegrityMismatch` from decoding chunk `hash` (or reading its base) as the reader reports it; other errors as they are. */
  #named(e: unknown, hash: string, item: string): unknown {
    if (!isEngramError(e, 'IntegrityMismatch')) return e;
    return new EngramError('IntegrityMismatch', `${item}: chunk ${hash} is corrupt (${e.message})`, { ...e.data, item, chunk: hash }, { cause: e });
  }

  #remember(hash: string, raw: Uint8Array): void {
    if (raw.byteLength > this.#budget / 4 || this.#cache.has(hash)) return;
    this.#cache.set(hash, raw);
    this.#cached += raw.byteLength;
    for (const [h, b] of this.#cache) {
      if (this.#cached <= this.#budget) break;
      this.#cache.delete(h);
      this.#cached -= b.byteLength;
    }
  }

  /**
   * Concatenates the ranges `refs` into `into` (or a new buffer of `byteLength`), fetching up to
   * `concurrency` chunks at once. A chunk read whole is not cached (a restore reads each once) and
   * its memory goes back to the codec pool once copied; a range of one (a bundle's member, a
   * shard's region) is cached for the readers of the rest. `chunks` (the manifest's map) lets each
   * delta chain be fetched at once and decoded in one request (see {@link ChunkReader.#load}).
   */
  async read(refs: readonly ChunkRef[], byteLength: number, item: string, into?: Uint8Array, concurrency = 4, chunks?: Readonly<Record<string, ChunkInfo>>): Promise<Uint8Array> {
    const out = into ?? new Uint8Array(byteLength);
    if (out.byteLength !== byteLength) {
      throw new EngramError('InvalidArgument', `${item}: target buffer has ${out.byteLength} bytes, needs ${byteLength}`, { item });
    }
    const offsets: number[] = [];
    let pos = 0;
    for (const r of refs) {
      offsets.push(pos);
      pos += r.length;
    }
    await eachConcurrently(refs, concurrency, async (r, i) => {
      const { raw, owned } = await this.#fetch(r.hash, item, [], false, chunks);
      out.set(raw.subarray(r.offset, r.offset + r.length), offsets[i]);
      if (!owned) return;
      if (r.offset === 0 && r.length === raw.byteLength) this.#pool.recycle(raw);
      else this.#remember(r.hash, this.#pool.unlease(raw));
    });
    return out;
  }
}
