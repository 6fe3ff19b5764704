/**
 * The one conformance suite every ObjectStore backend passes (fs and memory here; s3 later). A
 * backend is correct when it behaves as this suite says, whatever it is built on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import type { ObjectStore } from '../../src/store/index.ts';

/** Something that makes a fresh, empty store and disposes of it. */
export interface StoreFactory {
  create(): Promise<ObjectStore>;
  dispose?(store: ObjectStore): Promise<void>;
}

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out.sort();
}

/** Registers the conformance tests for one backend. */
export function runObjectStoreConformance(name: string, factory: StoreFactory): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    const withStore = (title: string, body: (s: ObjectStore) => Promise<void>): void => {
      test(title, async () => {
        const s = await factory.create();
        try {
          await body(s);
        } finally {
          await s.close();
          await factory.dispose?.(s);
        }
      });
    };

    withStore('put then get returns the same bytes, and later changes to the input do not leak in', async (s) => {
      const data = bytes(1, 2, 3, 4, 5);
      assert.equal(await s.put('a/b/c', data), true);
      data[0] = 99;
      assert.deepEqual(await s.get('a/b/c'), bytes(1, 2, 3, 4, 5));
    });

    withStore('a non-durable put is visible at once and keeps if-absent semantics', async (s) => {
      assert.equal(await s.put('staging/x/intent.json', bytes(7, 8), { ifAbsent: true, durable: false }), true);
      assert.deepEqual(await s.get('staging/x/intent.json'), bytes(7, 8));
      assert.equal(await s.put('staging/x/intent.json', bytes(9), { ifAbsent: true, durable: false }), false);
      assert.deepEqual(await keys(s, 'staging/'), ['staging/x/intent.json']);
    });

    withStore('empty objects exist and read back empty', async (s) => {
      await s.put('empty', new Uint8Array(0));
      assert.equal((await s.get('empty')).byteLength, 0);
      assert.equal((await s.head('empty'))?.size, 0);
    });

    withStore('get of a missing key throws NotFound; head returns undefined', async (s) => {
      await assert.rejects(s.get('nope/x'), (e) => isEngramError(e, 'NotFound'));
      assert.equal(await s.head('nope/x'), undefined);
    });

    withStore('missing names the absent keys, in order, each once', async (s) => {
      await s.put('m/a', new Uint8Array([1]));
      await s.put('m/c', new Uint8Array([3]));
      assert.deepEqual(await s.missing([]), []);
      assert.deepEqual(await s.missing(['m/a', 'm/b', 'm/c', 'm/d', 'm/b']), ['m/b', 'm/d']);
      assert.deepEqual(await s.missing(['m/c', 'm/a']), []);
      const many = Array.from({ length: 40 }, (_, i) => `m/n${i}`);
      await s.put('m/n17', new Uint8Array(0));
      assert.deepEqual(await s.missing(many), many.filter((k) => k !== 'm/n17'));
    });

    withStore('range reads return exactly the range and reject ranges outside the object', async (s) => {
      const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
      await s.put('r', data);
      assert.deepEqual(await s.get('r', { offset: 10, length: 5 }), data.subarray(10, 15));
      assert.deepEqual(await s.get('r', { offset: 995, length: 5 }), data.subarray(995));
      assert.equal((await s.get('r', { offset: 1000, length: 0 })).byteLength, 0);
      await assert.rejects(s.get('r', { offset: 996, length: 5 }), (e) => isEngramError(e, 'InvalidArgument'));
      await assert.rejects(s.get('r', { offset: -1, length: 2 }), (e) => isEngramError(e, 'InvalidArgument'));
    });

    withStore('range edge cases: the whole object, one byte, an empty range of an empty object, a missing key', async (s) => {
      const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255);
      await s.put('edge', data);
      assert.deepEqual(await s.get('edge', { offset: 0, length: 300 }), data);
      assert.deepEqual(await s.get('edge', { offset: 299, length: 1 }), data.subarray(299));
      assert.equal((await s.get('edge', { offset: 0, length: 0 })).byteLength, 0);
      await assert.rejects(s.get('edge', { offset: 301, length: 0 }), (e) => isEngramError(e, 'InvalidArgument'));
      await assert.rejects(s.get('edge', { offset: 300, length: 1 }), (e) => isEngramError(e, 'InvalidArgument'));
      await s.put('edge-empty', new Uint8Array(0));
      assert.equal((await s.get('edge-empty', { offset: 0, length: 0 })).byteLength, 0);
      await assert.rejects(s.get('edge-empty', { offset: 0, length: 1 }), (e) => isEngramError(e, 'InvalidArgument'));
      await assert.rejects(s.get('edge-missing', { offset: 0, length: 1 }), (e) => isEngramError(e, 'NotFound'));
    });

    withStore('a list started before more puts sees at least every object that existed when it began', async (s) => {
      for (let i = 0; i < 20; i++) await s.put(`l/${String(i).padStart(2, '0')}`, bytes(i));
      const seen: string[] = [];
      for await (const info of s.list('l/')) {
        seen.push(info.key);
        if (seen.length === 1) await s.put('l/zz-late', bytes(1));
      }
      for (let i = 0; i < 20; i++) assert.ok(seen.includes(`l/${String(i).padStart(2, '0')}`), `l/${i}`);
    });

    withStore('head reports size and a plausible mtime', async (s) => {
      const before = Date.now() - 5000;
      await s.put('h', new Uint8Array(123));
      const info = await s.head('h');
      assert.equal(info?.key, 'h');
      assert.equal(info?.size, 123);
      assert.ok(info!.mtimeMs >= before && info!.mtimeMs <= Date.now() + 5000);
    });

    withStore('ifAbsent writes only the first time and never replaces the object', async (s) => {
      assert.equal(await s.put('once', bytes(1), { ifAbsent: true }), true);
      assert.equal(await s.put('once', bytes(2), { ifAbsent: true }), false);
      assert.deepEqual(await s.get('once'), bytes(1));
    });

    withStore('concurrent ifAbsent puts of one key: exactly one wins', async (s) => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => s.put('race', bytes(i), { ifAbsent: true })));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.deepEqual(await s.get('race'), bytes(winner));
    });

    withStore('put without ifAbsent replaces the object', async (s) => {
      await s.put('k', bytes(1, 2));
      await s.put('k', bytes(3));
      assert.deepEqual(await s.get('k'), bytes(3));
    });

    withStore('list by prefix finds nested keys and nothing else', async (s) => {
      for (const k of ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3', 'refs/x', 'chunksX']) await s.put(k, bytes(0));
      assert.deepEqual(await keys(s, 'chunks/'), ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3']);
      assert.deepEqual(await keys(s, 'chunks/a'), ['chunks/ab/1', 'chunks/ab/2']);
      assert.deepEqual(await keys(s, 'chunks'), ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3', 'chunksX']);
      assert.deepEqual(await keys(s, ''), ['chunks/ab/1', 'chunks/ab/2', 'chunks/cd/3', 'chunksX', 'refs/x']);
      assert.deepEqual(await keys(s, 'missing/'), []);
      for await (const info of s.list('refs/')) assert.equal(info.size, 1);
    });

    withStore('delete removes the object; deleting twice is fine', async (s) => {
      await s.put('d/x', bytes(1));
      await s.delete('d/x');
      await s.delete('d/x');
      assert.equal(await s.head('d/x'), undefined);
      assert.deepEqual(await keys(s, 'd/'), []);
    });

    withStore('objects of several MiB round-trip intact', async (s) => {
      const big = new Uint8Array(5 * 1024 * 1024 + 7);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i >>> 12) & 255;
      await s.put('big', big);
      const back = await s.get('big');
      assert.equal(back.byteLength, big.byteLength);
      assert.ok(Buffer.from(back).equals(Buffer.from(big)));
    });
  });
}
