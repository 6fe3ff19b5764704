import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isEngramError } from '../../src/errors/index.ts';
import { bufferSource, readTensorFile, rebuildFile } from '../../src/formats/index.ts';
import { unpickle } from '../../src/formats/pickle/unpickle.ts';
import { flattenTorchObject } from '../../src/formats/pytorch/torch-object-tree.ts';
import { storageFromPid, torchPickleHooks, type StorageObject } from '../../src/formats/pytorch/torch-pickle-hooks.ts';
import { writeStoredZip } from '../../src/formats/write-stored-zip.ts';
import { counting } from '../helpers/format-checks.ts';

const GENERATED = fileURLToPath(new URL('../fixtures/torch/generated/', import.meta.url));
const CORPUS = fileURLToPath(new URL('../fixtures/torch/corpus/', import.meta.url));
const { marker: MARKER } = JSON.parse(await readFile(`${GENERATED}EXPECTED.json`, 'utf8')) as { marker: string };
const fixture = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(name.includes('/') ? name : GENERATED + name));

/** Unpickles `bytes` as a torch data.pkl and flattens it, as the readers do. */
function loadTorchPickle(bytes: Uint8Array): unknown {
  const known = new Map<string, StorageObject>();
  const hooks = torchPickleHooks('t.pkl', (pid, at) => storageFromPid('t.pkl', pid, at, known));
  return flattenTorchObject('t.pkl', unpickle(bytes, { file: 't.pkl', offset: 0 }, hooks).value);
}

const latin1 = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const pickle = (...parts: (number | string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : typeof p === 'string' ? latin1(p) : p)));

const refusesAs = (code: 'UnsafePickle' | 'FormatError', what?: string) => (e: unknown): boolean => {
  assert.ok(isEngramError(e, code), `expected ${code}, got ${String(e)}`);
  if (what) {
    assert.ok(e.message.includes(what), `message does not name ${what}: ${e.message}`);
    if (code === 'UnsafePickle') assert.ok(e.data.global === what || e.data.opcode === what, JSON.stringify(e.data));
  }
  assert.equal(typeof e.data.offset, 'number');
  return true;
};

describe('the unpickler refuses anything that would run code', () => {
  before(() => rmSync(MARKER, { force: true }));
  after(() => assert.ok(!existsSync(MARKER), `a payload ran: ${MARKER} exists`));

  const hostile: [string, string][] = [['os_system.pkl', 'posix.system'], ['builtins_exec.pkl', 'builtins.exec'], ['builtins_eval.pkl', 'builtins.eval']];
  for (const [name, global] of hostile) {
    test(`${name} (pickled by Python) is UnsafePickle naming ${global}, bare or as a checkpoint's data.pkl`, async () => {
      const bytes = await fixture(name);
      assert.throws(() => loadTorchPickle(bytes), refusesAs('UnsafePickle', global));
      const zip = writeStoredZip([{ name: 'evil/data.pkl', data: bytes }, { name: 'evil/version', data: Uint8Array.of(0x33, 0x0a) }]);
      await assert.rejects(readTensorFile(bufferSource('evil.pt', zip)), refusesAs('UnsafePickle', global));
      assert.ok(!existsSync(MARKER));
    });
  }

  test('a payload deep inside a normal zip checkpoint is refused with its offset', async () => {
    const bytes = await fixture('deep_popen.pt');
    await assert.rejects(readTensorFile(bufferSource('deep_popen.pt', bytes)), (e: unknown) => {
      refusesAs('UnsafePickle', 'subprocess.Popen')(e);
      // The offset is a file offset inside data.pkl, past the tensors that came before the payload.
      assert.ok((e as { data: { offset: number } }).data.offset > 100);
      return true;
    });
  });

  test('a payload in a legacy checkpoint is refused', async () => {
    await assert.rejects(readTensorFile(bufferSource('old.pt', await fixture('deep_system_legacy.pt'))), refusesAs('UnsafePickle', 'posix.system'));
  });

  const crafted: [string, Uint8Array, string][] = [
    ['GLOBAL os.system', pickle(0x80, 2, 'c', 'os\nsystem\n', 'X', [4, 0, 0, 0], 'ls /', 0x85, 'R', '.'), 'os.system'],
    ['GLOBAL __builtin__.eval', pickle(0x80, 2, 'c', '__builtin__\neval\n', '.'), '__builtin__.eval'],
    ['GLOBAL subprocess.Popen', pickle(0x80, 2, 'c', 'subprocess\nPopen\n', '.'), 'subprocess.Popen'],
    ['STACK_GLOBAL os.system', pickle(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, '.'), 'os.system'],
    ['STACK_GLOBAL torch.load', pickle(0x80, 4, 0x8c, 5, 'torch', 0x8c, 4, 'load', 0x93, '.'), 'torch.load'],
    ['REDUCE on an allowlisted non-callable (a storage class)', pickle(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.'), 'torch.FloatStorage'],
    ['REDUCE on a dtype', pickle(0x80, 2, 'c', 'torch\nfloat32\n', ')', 'R', '.'), 'torch.float32'],
    ['REDUCE of OrderedDict with arguments (items could be anything)', pickle(0x80, 2, 'c', 'collections\nOrderedDict\n', ']', 0x85, 'R', '.'), 'collections.OrderedDict'],
    ['_codecs.encode with another codec', pickle(0x80, 2, 'c', '_codecs\nencode\n', 'X', [1, 0, 0, 0], 'a', 'X', [3, 0, 0, 0], 'hex', 0x86, 'R', '.'), '_codecs.encode'],
    ['BUILD on a storage class', pickle(0x80, 2, 'c', 'torch\nFloatStorage\n', '}', 'b', '.'), 'torch.FloatStorage'],
    ['NEWOBJ', pickle(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 0x81, '.'), 'NEWOBJ'],
    ['INST', pickle('(', 'i', 'os\nsystem\n', '.'), 'INST'],
    ['OBJ', pickle('(', 'c', 'torch\nFloatStorage\n', 'o', '.'), 'OBJ'],
    ['EXT1', pickle(0x80, 2, 0x82, 1, '.'), 'EXT1'],
    ['text PERSID', pickle('P', '0\n', '.'), 'PERSID'],
  ];
  for (const [what, bytes, named] of crafted) {
    test(`${what} is UnsafePickle naming ${named}`, () => {
      assert.throws(() => loadTorchPickle(bytes), refusesAs('UnsafePickle', named));
    });
  }

  test('BUILD on a list or a tensor is UnsafePickle', () => {
    assert.throws(() => loadTorchPickle(pickle(0x80, 2, ']', '}', 'b', '.')), refusesAs('UnsafePickle'));
  });
});

describe('hostile shapes end in a typed error, never a crash or a hang', () => {
  const cases: [string, Uint8Array][] = [
    ['no STOP', pickle(0x80, 2, 'N')],
    ['empty', pickle()],
    ['string longer than the input', pickle(0x80, 2, 'X', [0xff, 0xff, 0xff, 0x7f], 'abc', '.')],
    ['BINBYTES8 of 2^63', pickle(0x80, 4, 0x8e, [0, 0, 0, 0, 0, 0, 0, 0x80], '.')],
    ['memo get of a missing entry', pickle(0x80, 2, 'h', 7, '.')],
    ['stack underflow', pickle(0x80, 2, 't', '.')],
    ['SETITEM on a list', pickle(0x80, 2, ']', 'K', 1, 'K', 2, 's', '.')],
    ['10 000 nested MARKs', pickle(0x80, 2, ...new Array<string>(10_000).fill('('), '.')],
    ['a list that contains itself', pickle(0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.')],
    // Each level is [prev, prev]: 2^60 nodes if walked naively.
    ['a shared subtree doubled 60 times', pickle(0x80, 2, 'N', ...Array.from({ length: 60 }, () => ['q', 0, 'h', 0, 0x86]).flat(), '.')],
    ['persistent id of an unknown storage class', pickle(0x80, 2, '(', 'X', [7, 0, 0, 0], 'storage', 'c', 'torch\nComplexFloatStorage\n', 'X', [1, 0, 0, 0], '0', 'X', [3, 0, 0, 0], 'cpu', 'K', 1, 't', 'Q', '.')],
    ['a stride-0 view of 2^93 elements', pickle(
      0x80, 2, 'c', 'torch._utils\n_rebuild_tensor_v2\n', '(',
      '(', 'X', [7, 0, 0, 0], 'storage', 'c', 'torch\nFloatStorage\n', 'X', [1, 0, 0, 0], '0', 'X', [3, 0, 0, 0], 'cpu', 'K', 1, 't', 'Q',
      'K', 0, '(', ...[0, 1, 2].flatMap(() => ['J', [0xff, 0xff, 0xff, 0x7f]]), 't', '(', 'K', 0, 'K', 0, 'K', 0, 't',
      0x89, 'c', 'collections\nOrderedDict\n', ')', 'R', 't', 'R', '.')],
    ['invalid UTF-8', pickle(0x80, 2, 'X', [1, 0, 0, 0], 0xff, '.')],
    ['protocol 9', pickle(0x80, 9, 'N', '.')],
  ];
  for (const [what, bytes] of cases) {
    test(what, () => {
      assert.throws(() => loadTorchPickle(bytes), (e: unknown) => isEngramError(e, 'FormatError') || isEngramError(e, 'UnsafePickle'));
    });
  }

  test('5,000 truncations and bit flips of real checkpoints end in a typed error or an exact read', async () => {
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const files = [await fixture(`${CORPUS}bare_tensor.pt`), await fixture('views.pt'), await fixture('views_protocol4.pt'), await fixture('views_legacy.pt')];
    let ok = 0;
    let refused = 0;
    let maxRead = 0;
    for (let i = 0; i < 5000; i++) {
      const orig = files[i % files.length]!;
      let bytes = orig.slice();
      if (i % 3 === 0) bytes = bytes.subarray(0, rand(bytes.byteLength));
      else for (let k = 0, n = 1 + rand(4); k < n; k++) bytes[rand(bytes.byteLength)]! ^= 1 << rand(8);
      const src = counting(bufferSource(`m${i}.pt`, bytes));
      try {
        const file = await readTensorFile(src);
        const loaded = new Map<string, Uint8Array>();
        for (const t of file.tensors) loaded.set(t.name, await t.load());
        // Whatever was read, it must still rebuild the mutated file exactly.
        assert.deepEqual(rebuildFile(file, (n) => loaded.get(n)!), bytes);
        ok++;
      } catch (e) {
        assert.ok(isEngramError(e, 'FormatError') || isEngramError(e, 'UnsafePickle'), `mutation ${i}: ${String(e)}\n${(e as Error).stack}`);
        refused++;
      }
      // The bound is on bytes, not seconds (see test/helpers/fuzz.ts FuzzRun). Nothing is read (so nothing is allocated for reading) beyond a small multiple of the file.
      const read = src.reads.reduce((n, [, l]) => n + l, 0);
      maxRead = Math.max(maxRead, read / Math.max(1, bytes.byteLength));
      assert.ok(read <= 4 * bytes.byteLength + 64 * 1024, `mutation ${i} read ${read} bytes of a ${bytes.byteLength}-byte file`);
    }
    assert.ok(refused > 500 && ok > 0, `ok ${ok}, refused ${refused}, most read ${maxRead.toFixed(2)}x the file`);
  });
});
