import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeleteBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isEngramError } from '../../src/errors/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import { S3Store, type S3StoreOptions } from '../../src/s3.ts';
import type { ObjectStore } from '../../src/store/index.ts';
import { prng as makePrng } from '../helpers/fuzz.ts';
import { emptyS3Store, requireS3Env, s3TestStoreOptions, s3TestUrl, uniqueS3Name } from '../helpers/s3-test-store.ts';
import { runObjectStoreConformance } from './object-store.conformance.ts';

const urls = new WeakMap<ObjectStore, string>();

/** Runs the store conformance suite on S3Stores made with `options` (each on its own prefix). */
function s3Conformance(label: string, prefix: string, options?: Parameters<typeof s3TestStoreOptions>[1]): void {
  runObjectStoreConformance(label, {
    create: async () => {
      const url = s3TestUrl(prefix);
      const store = new S3Store(s3TestStoreOptions(url, options));
      urls.set(store, url);
      return store;
    },
    // close() has run: a second store on the same prefix removes what the test left.
    dispose: async (s: ObjectStore) => {
      const again = new S3Store(s3TestStoreOptions(urls.get(s)!));
      try {
        await emptyS3Store(again);
      } finally {
        await again.close();
      }
    },
  });
}

s3Conformance('s3', 'conformance');
// The SDK's request path (a store given its own client, or leanRequests: false) keeps the same contract.
s3Conformance('s3 (every request on the SDK)', 'conformance-sdk', { leanRequests: false });

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A store on a fresh prefix of the test bucket; `body` runs, then the prefix is emptied. */
async function withStore(extra: Partial<S3StoreOptions>, body: (s: S3Store, url: string) => Promise<void>): Promise<void> {
  const url = s3TestUrl('s3-store');
  const store = new S3Store(s3TestStoreOptions(url, extra));
  try {
    await store.ensureBucket();
    await body(store, url);
  } finally {
    await emptyS3Store(store).catch(() => undefined);
    await store.close();
  }
}

/** The server's own view of an object, without engram in between. */
function rawClient(): S3Client {
  const e = requireS3Env();
  return new S3Client({
    endpoint: e.endpoint,
    region: e.region,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

test('an object above the multipart threshold goes up in parts and round-trips by hash, also by ranges across parts', async () => {
  await withStore({ multipartThreshold: 5 * MiB, partSize: 5 * MiB }, async (s) => {
    const big = seededBytes(17 * MiB + 12345, 7);
    assert.equal(await s.put('chunks/big', big), true);
    const raw = rawClient();
    try {
      const head = await raw.send(new HeadObjectCommand({ Bucket: s.bucket, Key: `${s.root}chunks/big` }));
      // A multipart object's ETag is "<md5 of part md5s>-<part count>".
      assert.match(head.ETag ?? '', /-4"?$/);
    } finally {
      raw.destroy();
    }
    assert.equal((await s.head('chunks/big'))?.size, big.byteLength);
    assert.equal(sha(await s.get('chunks/big')), sha(big));
    const across = { offset: 5 * MiB - 100, length: 5 * MiB + 200 };
    assert.equal(sha(await s.get('chunks/big', across)), sha(big.subarray(across.offset, across.offset + across.length)));
    // if-absent on a large object that exists writes nothing
    assert.equal(await s.put('chunks/big', seededBytes(6 * MiB, 8), { ifAbsent: true }), false);
    assert.equal(sha(await s.get('chunks/big')), sha(big));
  });
});

test('if-absent puts racing from two separate clients: exactly one wins each key, and its bytes stay', async () => {
  await withStore({}, async (a, url) => {
    const b = new S3Store(s3TestStoreOptions(url));
    try {
      for (let i = 0; i < 10; i++) {
        const key = `refs/main/${i}.json`;
        const [ra, rb] = await Promise.all([a.put(key, Uint8Array.of(1, i), { ifAbsent: true }), b.put(key, Uint8Array.of(2, i), { ifAbsent: true })]);
        assert.equal(Number(ra) + Number(rb), 1, `key ${key}: ${ra} ${rb}`);
        assert.deepEqual(await b.get(key), Uint8Array.of(ra ? 1 : 2, i));
      }
    } finally {
      await b.close();
    }
  });
});

test('keys that need escaping (spaces, + = ! \' ( ) * % & :, accents, CJK, emoji) round-trip through GET, PUT and HEAD, RGW checking every signature, and list them as written', async () => {
  await withStore({}, async (s) => {
    const keys = ['a b/c+d=e', "x!'()*/y", '100%/&amp;:@,;$', 'été/中文/😀.bin', 'tilde~dot./..../-_'];
    for (const [i, key] of keys.entries()) {
      const data = seededBytes(1000 + i, 30 + i);
      assert.equal(await s.put(key, data), true, key);
      assert.equal(await s.put(key, data, { ifAbsent: true }), false, key);
      assert.equal((await s.head(key))?.size, data.byteLength, key);
      assert.equal(sha(await s.get(key)), sha(data), key);
      assert.equal(sha(await s.get(key, { offset: 7, length: 500 })), sha(data.subarray(7, 507)), key);
    }
    assert.deepEqual((await collect(s.list(''))).map((o) => o.key).sort(), [...keys].sort());
  });
});

test('GET, single PUT and HEAD go on the lean client (no SDK, no Expect: 100-continue); listing and multipart stay on the SDK', async () => {
  const e = requireS3Env();
  const proxy = await startFaultProxy(e.endpoint, []);
  try {
    await withStore({ endpoint: proxy.url, multipartThreshold: 5 * MiB, partSize: 5 * MiB }, async (s) => {
      const data = seededBytes(200_000, 40);
      await s.put('chunks/one', data);
      await s.put('chunks/one', data, { ifAbsent: true });
      await s.head('chunks/one');
      await s.get('chunks/one');
      await s.get('chunks/one', { offset: 10, length: 10 });
      await s.put('chunks/big', seededBytes(6 * MiB, 41));
      await collect(s.list('chunks/'));
      const seen = proxy.requests();
      // (withStore's bucket check, a HEAD of the bucket, is the SDK's too.)
      const hot = seen.filter((r) => r.url.includes('/chunks/') && !/uploads|uploadId|list-type/.test(r.url));
      const sdk = seen.filter((r) => /uploads|uploadId|list-type/.test(r.url));
      assert.deepEqual(hot.map((r) => `${r.method} ${r.userAgent}`), ['PUT', 'PUT', 'HEAD', 'GET', 'GET'].map((m) => `${m} engram-s3-lean`));
      assert.ok(hot.every((r) => r.expect === undefined));
      // start, 2 parts, complete, one list page
      assert.equal(sdk.length, 5);
      assert.ok(sdk.every((r) => /aws-sdk-js/.test(r.userAgent ?? '')), sdk.map((r) => r.userAgent).join());
    });
  } finally {
    await proxy.close();
  }
});

test('list pages through more keys than one ListObjectsV2 answer holds', async () => {
  await withStore({ listPageSize: 7 }, async (s) => {
    const keys = Array.from({ length: 60 }, (_, i) => `chunks/${String(i % 7).padStart(2, '0')}/${i}`);
    await Promise.all(keys.map((k) => s.put(k, Uint8Array.of(1))));
    const seen: string[] = [];
    for await (const info of s.list('chunks/')) seen.push(info.key);
    assert.deepEqual(seen.sort(), keys.sort());
  });
});

test('throttling (503 SlowDown, 429) and dropped connections from the real server path are retried with backoff', async () => {
  const e = requireS3Env();
  // The first 3 requests get 503 SlowDown, the next 2 a 429, the next 2 a reset connection: 7 failed
  // attempts of the first request (of 8 allowed); the rest reach RGW.
  const proxy = await startFaultProxy(e.endpoint, ['503', '503', '503', '429', '429', 'reset', 'reset']);
  const retries: number[] = [];
  try {
    await withStore({ endpoint: proxy.url, retry: { baseDelayMs: 5, onRetry: (r) => retries.push(r.attempt) } }, async (s) => {
      const data = seededBytes(100_000, 3);
      assert.equal(await s.put('chunks/x', data), true);
      assert.equal(sha(await s.get('chunks/x')), sha(data));
    });
    assert.equal(proxy.faultsServed(), 7);
    assert.deepEqual(retries, [1, 2, 3, 4, 5, 6, 7]);
  } finally {
    await proxy.close();
  }
});

test('requests in flight stay within maxConcurrency, multipart parts included', async () => {
  const e = requireS3Env();
  const proxy = await startFaultProxy(e.endpoint, []);
  try {
    await withStore({ endpoint: proxy.url, maxConcurrency: 3, multipartThreshold: 5 * MiB, partSize: 5 * MiB }, async (s) => {
      const big = seededBytes(26 * MiB, 11);
      await Promise.all([s.put('big', big), ...Array.from({ length: 30 }, (_, i) => s.put(`small/${i}`, seededBytes(50_000, i)))]);
      assert.equal(sha(await s.get('big')), sha(big));
    });
    assert.ok(proxy.maxInFlight() <= 3, `max in flight: ${proxy.maxInFlight()}`);
    assert.ok(proxy.maxInFlight() >= 2, `requests did overlap: ${proxy.maxInFlight()}`);
  } finally {
    await proxy.close();
  }
});

test('when throttling outlasts the retries, the error is an IOError naming the status', async () => {
  const e = requireS3Env();
  const proxy = await startFaultProxy(e.endpoint, Array.from({ length: 100 }, () => '503' as const));
  const s = new S3Store(s3TestStoreOptions(s3TestUrl('throttled'), { endpoint: proxy.url, retry: { attempts: 3, baseDelayMs: 1 } }));
  try {
    await assert.rejects(s.get('k'), (err) => isEngramError(err, 'IOError') && /SlowDown/.test(err.message) && err.data.status === 503);
    assert.equal(proxy.faultsServed(), 3);
  } finally {
    await s.close();
    await proxy.close();
  }
});

test('an if-absent PUT whose answer was lost is retried and still reported as won (the object is ours)', async () => {
  const e = requireS3Env();
  // 'drop' forwards the request to RGW (which stores the object) and then cuts the client's connection.
  const proxy = await startFaultProxy(e.endpoint, ['drop']);
  try {
    await withStore({ endpoint: proxy.url, retry: { baseDelayMs: 1 } }, async (s) => {
      assert.equal(await s.put('refs/main/1.json', Uint8Array.of(4, 5, 6), { ifAbsent: true }), true);
      assert.equal(proxy.faultsServed(), 1);
      assert.equal(await s.put('refs/main/1.json', Uint8Array.of(7), { ifAbsent: true }), false);
      assert.deepEqual(await s.get('refs/main/1.json'), Uint8Array.of(4, 5, 6));
    });
  } finally {
    await proxy.close();
  }
});

test('a write creates a missing bucket; reads of a missing bucket are NotFound naming the bucket', async () => {
  const e = requireS3Env();
  const bucket = `${e.bucketPrefix}-${uniqueS3Name('b')}`.slice(0, 63).replace(/-+$/, '');
  const reader = new S3Store(s3TestStoreOptions(`s3://${bucket}/repo`, { createBucket: false }));
  const writer = new S3Store(s3TestStoreOptions(`s3://${bucket}/repo`));
  try {
    await assert.rejects(reader.get('config.json'), (err) => isEngramError(err, 'NotFound') && err.message.includes(bucket));
    assert.equal(await reader.head('config.json'), undefined);
    assert.deepEqual(await collect(reader.list('')), []);
    await assert.rejects(reader.put('config.json', Uint8Array.of(1)), (err) => isEngramError(err, 'NotFound') && err.message.includes(bucket));
    assert.equal(await writer.put('config.json', Uint8Array.of(1), { ifAbsent: true }), true);
    assert.deepEqual(await reader.get('config.json'), Uint8Array.of(1));
  } finally {
    await emptyS3Store(writer).catch(() => undefined);
    const raw = rawClient();
    await raw.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    raw.destroy();
    await reader.close();
    await writer.close();
  }
});

test('PUT and part bodies go UNSIGNED-PAYLOAD (key, headers and credentials still signed): RGW takes them, and refuses them under a wrong secret', async () => {
  const e = requireS3Env();
  const proxy = await startFaultProxy(e.endpoint, []);
  try {
    await withStore({ endpoint: proxy.url, multipartThreshold: 5 * MiB, partSize: 5 * MiB }, async (s, url) => {
      const small = seededBytes(300_000, 21);
      const big = seededBytes(11 * MiB + 7, 22);
      assert.equal(await s.put('chunks/small', small), true);
      assert.equal(await s.put('chunks/big', big), true);
      const puts = proxy.requests().filter((r) => r.method === 'PUT' && r.body.byteLength > 0);
      // One single PUT and three parts, every one sent without a payload hash.
      assert.equal(puts.length, 4);
      assert.deepEqual(puts.map((r) => r.payloadHash), ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
      assert.equal(puts.filter((r) => /partNumber=/.test(r.url)).length, 3);
      assert.equal(sha(await s.get('chunks/small')), sha(small));
      assert.equal(sha(await s.get('chunks/big')), sha(big));
      // The signature still covers the request: a wrong secret is refused, and nothing is written.
      const wrong = new S3Store(s3TestStoreOptions(url, { credentials: { accessKeyId: e.accessKeyId, secretAccessKey: `${e.secretAccessKey.slice(0, -4)}xxxx` } }));
      try {
        await assert.rejects(wrong.put('chunks/forged', small), (err) => isEngramError(err, 'IOError') && /refused/.test(err.message) && err.data.status === 403);
        await assert.rejects(wrong.put('chunks/forged-big', big), (err) => isEngramError(err, 'IOError') && /refused/.test(err.message));
      } finally {
        await wrong.close();
      }
      assert.equal(await s.head('chunks/forged'), undefined);
      assert.equal(await s.head('chunks/forged-big'), undefined);
    });
  } finally {
    await proxy.close();
  }
});

test('signPayload: true signs the SHA-256 of every PUT and part body', async () => {
  const e = requireS3Env();
  const proxy = await startFaultProxy(e.endpoint, []);
  try {
    await withStore({ endpoint: proxy.url, multipartThreshold: 5 * MiB, partSize: 5 * MiB, signPayload: true }, async (s) => {
      const big = seededBytes(6 * MiB, 23);
      assert.equal(await s.put('chunks/small', big.subarray(0, 1000)), true);
      assert.equal(await s.put('chunks/big', big), true);
      const puts = proxy.requests().filter((r) => r.method === 'PUT' && r.body.byteLength > 0);
      assert.equal(puts.length, 3);
      for (const r of puts) assert.equal(r.payloadHash, sha(r.body));
      assert.equal(sha(await s.get('chunks/big')), sha(big));
    });
  } finally {
    await proxy.close();
  }
});

test('a GET whose body is cut short is retried, and returns the whole object', async () => {
  const e = requireS3Env();
  const data = seededBytes(3 * MiB + 5, 24);
  const setup = await startFaultProxy(e.endpoint, []);
  const url = s3TestUrl('truncated');
  const writer = new S3Store(s3TestStoreOptions(url, { endpoint: setup.url }));
  const proxy = await startFaultProxy(e.endpoint, ['truncate', 'truncate']);
  const retries: unknown[] = [];
  const reader = new S3Store(s3TestStoreOptions(url, { endpoint: proxy.url, retry: { baseDelayMs: 1, onRetry: (r) => retries.push(r.error) } }));
  try {
    assert.equal(await writer.put('chunks/x', data), true);
    assert.equal(sha(await reader.get('chunks/x')), sha(data));
    assert.equal(sha(await reader.get('chunks/x', { offset: 1000, length: 2 * MiB })), sha(data.subarray(1000, 1000 + 2 * MiB)));
    assert.equal(proxy.faultsServed(), 2);
    assert.equal(retries.length, 2);
  } finally {
    await emptyS3Store(writer).catch(() => undefined);
    await writer.close();
    await reader.close();
    await setup.close();
    await proxy.close();
  }
});

test('a request the server never answers fails as a retried TimeoutError, then an IOError, instead of waiting forever', async () => {
  // A server that takes requests and never answers (RGW itself would answer: no timing of it here).
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const retries: unknown[] = [];
  const s = new S3Store(s3TestStoreOptions(s3TestUrl('silent'), { endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, requestTimeoutMs: 200, retry: { attempts: 2, baseDelayMs: 1, onRetry: (r) => retries.push(r.error) } }));
  try {
    await assert.rejects(s.get('chunks/x'), (err) => isEngramError(err, 'IOError') && err.data.name === 'TimeoutError');
    assert.equal(retries.length, 1);
    assert.equal((retries[0] as Error).name, 'TimeoutError');
  } finally {
    await s.close();
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  }
});

test('openStore opens s3:// URLs by loading the S3 module on demand; the core never imports it statically', async () => {
  const url = s3TestUrl('open-store');
  const store = await openStore(url);
  try {
    assert.ok(store instanceof S3Store);
    assert.equal(store.location, url);
  } finally {
    await store.close();
  }
  // Walk the static import graph of the core entry points: nothing reaches the AWS SDK or s3-store.
  const seen = new Set<string>();
  const walk = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      assert.ok(!spec.startsWith('@aws-sdk') && !/s3/.test(spec), `${file} imports ${spec}`);
      if (spec.startsWith('.')) await walk(join(dirname(file), spec));
    }
  };
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  for (const entry of ['index.ts', 'store/index.ts', 'repo/index.ts', 'cli/main.ts']) await walk(join(src, entry));
  assert.ok(seen.size > 20);
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function seededBytes(n: number, seed: number): Uint8Array {
  const rnd = makePrng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = Math.floor(rnd() * 2 ** 32);
    out[i] = v & 255;
    out[i + 1] = (v >>> 8) & 255;
    out[i + 2] = (v >>> 16) & 255;
    out[i + 3] = v >>> 24;
  }
  return out;
}

type Fault = '503' | '429' | 'reset' | 'drop' | 'truncate';

/** What the proxy saw of one request. */
interface SeenRequest {
  readonly method: string;
  readonly url: string;
  /** The SigV4 payload hash header, as sent. */
  readonly payloadHash: string | undefined;
  readonly userAgent: string | undefined;
  readonly expect: string | undefined;
  readonly body: Buffer;
}

/**
 * A tiny HTTP proxy in front of the real RGW: it answers the first requests with the listed faults
 * (503 SlowDown, 429, a reset connection, or — 'drop' — forwarding the request and then cutting the
 * connection before the answer; 'truncate': forwarding the answer's headers and only half its body),
 * then forwards everything unchanged, and records every request. The Host header is kept, so SigV4
 * signatures made for the proxy's address still verify at RGW.
 */
async function startFaultProxy(upstream: string, faults: Fault[]): Promise<{ url: string; faultsServed(): number; maxInFlight(): number; requests(): readonly SeenRequest[]; close(): Promise<void> }> {
  const target = new URL(upstream);
  let served = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    // Counted from arrival until the answer starts: the client cannot free its slot before that,
    // so this never exceeds what the client really has in flight.
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let answered = false;
    const answer = (): void => {
      if (!answered) inFlight--;
      answered = true;
    };
    res.on('close', answer);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const header = req.headers['x-amz-content-sha256'];
      seen.push({ method: req.method ?? '', url: req.url ?? '', payloadHash: Array.isArray(header) ? header[0] : header, userAgent: req.headers['user-agent'], expect: req.headers.expect, body: Buffer.concat(chunks) });
      const fault = faults.shift();
      if (fault) served++;
      if (fault) answer();
      if (fault === '503' || fault === '429') {
        const code = fault === '503' ? 'SlowDown' : 'TooManyRequests';
        res.writeHead(Number(fault), { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>Please reduce your request rate.</Message></Error>`);
        return;
      }
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        if (fault === 'drop') {
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        if (fault === 'truncate') {
          const body: Buffer[] = [];
          upRes.on('data', (c: Buffer) => body.push(c));
          upRes.on('end', () => {
            const all = Buffer.concat(body);
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.write(all.subarray(0, all.byteLength >> 1), () => req.socket.destroy());
          });
          return;
        }
        answer();
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => req.socket.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faultsServed: () => served,
    maxInFlight: () => maxInFlight,
    requests: () => seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
