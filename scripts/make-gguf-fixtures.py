#!/usr/bin/env python3
"""Writes test/fixtures/gguf/*.gguf and EXPECTED.json.

Python standard library only (there is no gguf package here), fixed seed, so the files are
reproducible anywhere: `python3 scripts/make-gguf-fixtures.py`.

The files follow the GGUF v3 spec (ggml docs/gguf.md) and are laid out as ggml's gguf writer lays
them out: magic "GGUF", version u32, tensor count u64, metadata count u64, key/values (key string,
value type u32, value), tensor infos (name, n_dims u32, ne u64 × n_dims innermost first, ggml type
u32, offset u64 relative to the data section), zero padding to the alignment, then each tensor's
bytes followed by zero padding to the alignment. Strings are a u64 byte length and UTF-8 bytes.

- metadata.gguf: one key of every value type, arrays of every item type, nested arrays, an empty
  array, non-ASCII text; F32, F16, BF16, I32 and F64 tensors; default alignment 32.
- quantized.gguf: Q4_0 and Q8_0 tensors whose blocks are arbitrary bytes, an F32 tensor and
  general.alignment = 64.
- empty.gguf: no metadata and no tensors.

EXPECTED.json gives per file its size and SHA-256, the metadata in engram's JSON form (value type
with each value; 64-bit integers as decimal strings; arrays as {itemType, items}), and per tensor
its name, ggml type, logical shape (ne reversed), engram dtype, engram shape and the SHA-256 of
its bytes.
"""
import hashlib
import json
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'gguf')

VALUE_TYPES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64']
PACK = {'UINT8': '<B', 'INT8': '<b', 'UINT16': '<H', 'INT16': '<h', 'UINT32': '<I', 'INT32': '<i', 'FLOAT32': '<f',
        'UINT64': '<Q', 'INT64': '<q', 'FLOAT64': '<d'}
# ggml type: (id, block size, bytes per block, engram dtype or None when kept opaque)
GGML = {'F32': (0, 1, 4, 'F32'), 'F16': (1, 1, 2, 'F16'), 'Q4_0': (2, 32, 18, None), 'Q8_0': (8, 32, 34, None),
        'I32': (26, 1, 4, 'I32'), 'F64': (28, 1, 8, 'F64'), 'BF16': (30, 1, 2, 'BF16')}
DEFAULT_ALIGNMENT = 32

rng = random.Random(20241124)


def gguf_string(s):
    b = s.encode('utf-8')
    return struct.pack('<Q', len(b)) + b


def encode_value(vtype, value):
    """Bytes of `value` (in the JSON form) as GGUF type `vtype`."""
    if vtype == 'STRING':
        return gguf_string(value)
    if vtype == 'BOOL':
        return struct.pack('<B', 1 if value else 0)
    if vtype == 'ARRAY':
        out = struct.pack('<IQ', VALUE_TYPES.index(value['itemType']), len(value['items']))
        return out + b''.join(encode_value(value['itemType'], v) for v in value['items'])
    if vtype in ('UINT64', 'INT64'):
        return struct.pack(PACK[vtype], int(value))
    return struct.pack(PACK[vtype], value)


def f32(x):
    """x rounded to float32, as the reader will see it."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def arr(item_type, items):
    return {'itemType': item_type, 'items': items}


def pack_dense(ggml, values):
    if ggml == 'BF16':
        out = bytearray()
        for v in values:
            (x,) = struct.unpack('<I', struct.pack('<f', v))
            out += struct.pack('<H', ((x + 0x7FFF + ((x >> 16) & 1)) >> 16) & 0xFFFF)
        return bytes(out)
    fmt = {'F32': 'f', 'F16': 'e', 'I32': 'i', 'F64': 'd'}[ggml]
    return struct.pack('<%d%s' % (len(values), fmt), *values)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def tensor(name, ggml, shape):
    """A tensor of logical `shape`: random values for dense types, random bytes for blocks."""
    _, block, size, dtype = GGML[ggml]
    n = numel(shape)
    if dtype is None:
        data = bytes(rng.randrange(256) for _ in range(n // block * size))
    elif ggml == 'I32':
        data = pack_dense(ggml, [rng.randrange(-2**31, 2**31) for _ in range(n)])
    else:
        data = pack_dense(ggml, [rng.uniform(-4, 4) for _ in range(n)])
    return {'name': name, 'type': ggml, 'shape': shape, 'data': data}


def pad(n, alignment):
    return (alignment - n % alignment) % alignment


def write(name, kvs, tensors, alignment=DEFAULT_ALIGNMENT):
    out = bytearray(b'GGUF')
    out += struct.pack('<IQQ', 3, len(tensors), len(kvs))
    for kv in kvs:
        out += gguf_string(kv['key']) + struct.pack('<I', VALUE_TYPES.index(kv['type'])) + encode_value(kv['type'], kv['value'])
    offset = 0
    for t in tensors:
        ne = list(reversed(t['shape']))
        out += gguf_string(t['name']) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
        out += struct.pack('<IQ', GGML[t['type']][0], offset)
        offset += len(t['data']) + pad(len(t['data']), alignment)
    out += bytes(pad(len(out), alignment))
    for t in tensors:
        out += t['data'] + bytes(pad(len(t['data']), alignment))
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(out)
    expected = []
    for t in tensors:
        _, block, size, dtype = GGML[t['type']]
        expected.append({
            'name': t['name'], 'type': t['type'], 'shape': t['shape'],
            'dtype': dtype or 'opaque:' + t['type'], 'dtype_shape': t['shape'] if dtype else [len(t['data'])],
            'sha256': hashlib.sha256(t['data']).hexdigest(),
        })
    return {'size': len(out), 'file_sha256': hashlib.sha256(out).hexdigest(), 'alignment': alignment,
            'metadata': kvs, 'tensors': expected}


def main():
    os.makedirs(OUT, exist_ok=True)
    every = [
        {'key': 'general.architecture', 'type': 'STRING', 'value': 'llama'},
        {'key': 'general.name', 'type': 'STRING', 'value': 'engram fixture – ünïcödé ✓'},
        {'key': 'test.uint8', 'type': 'UINT8', 'value': 255},
        {'key': 'test.int8', 'type': 'INT8', 'value': -128},
        {'key': 'test.uint16', 'type': 'UINT16', 'value': 65535},
        {'key': 'test.int16', 'type': 'INT16', 'value': -32768},
        {'key': 'test.uint32', 'type': 'UINT32', 'value': 4294967295},
        {'key': 'test.int32', 'type': 'INT32', 'value': -2147483648},
        {'key': 'test.float32', 'type': 'FLOAT32', 'value': f32(0.1)},
        {'key': 'test.bool.true', 'type': 'BOOL', 'value': True},
        {'key': 'test.bool.false', 'type': 'BOOL', 'value': False},
        {'key': 'test.string.empty', 'type': 'STRING', 'value': ''},
        {'key': 'test.uint64', 'type': 'UINT64', 'value': str(2**64 - 1)},
        {'key': 'test.int64', 'type': 'INT64', 'value': str(-2**63)},
        {'key': 'test.float64', 'type': 'FLOAT64', 'value': -1.2345678901234567e300},
        {'key': 'test.array.uint8', 'type': 'ARRAY', 'value': arr('UINT8', [0, 1, 254, 255])},
        {'key': 'test.array.int8', 'type': 'ARRAY', 'value': arr('INT8', [-128, 0, 127])},
        {'key': 'test.array.uint16', 'type': 'ARRAY', 'value': arr('UINT16', [0, 65535])},
        {'key': 'test.array.int16', 'type': 'ARRAY', 'value': arr('INT16', [-32768, 32767])},
        {'key': 'test.array.uint32', 'type': 'ARRAY', 'value': arr('UINT32', [0, 4294967295])},
        {'key': 'test.array.int32', 'type': 'ARRAY', 'value': arr('INT32', [-1, 7, 2147483647])},
        {'key': 'test.array.float32', 'type': 'ARRAY', 'value': arr('FLOAT32', [f32(x) for x in (1.5, -0.25, 3.14159)])},
        {'key': 'test.array.bool', 'type': 'ARRAY', 'value': arr('BOOL', [True, False, True])},
        {'key': 'tokenizer.ggml.tokens', 'type': 'ARRAY', 'value': arr('STRING', ['<s>', '</s>', '', 'héllo', '▁the'])},
        {'key': 'test.array.uint64', 'type': 'ARRAY', 'value': arr('UINT64', ['0', str(2**53 + 1), str(2**64 - 1)])},
        {'key': 'test.array.int64', 'type': 'ARRAY', 'value': arr('INT64', [str(-2**63), '-1', str(2**63 - 1)])},
        {'key': 'test.array.float64', 'type': 'ARRAY', 'value': arr('FLOAT64', [0.5, -1e-300, 2.5e10])},
        {'key': 'test.array.empty', 'type': 'ARRAY', 'value': arr('UINT32', [])},
        {'key': 'test.array.nested', 'type': 'ARRAY', 'value': arr('ARRAY', [
            arr('UINT8', [1, 2, 3]), arr('STRING', ['a', 'bc']), arr('ARRAY', [arr('INT16', [-5]), arr('BOOL', [])]), arr('FLOAT32', []),
        ])},
    ]
    dense = [
        tensor('token_embd.weight', 'F32', [5, 8]),
        tensor('blk.0.attn_norm.weight', 'F16', [8]),
        tensor('blk.0.ffn_up.weight', 'BF16', [3, 8]),
        tensor('blk.0.ids', 'I32', [7]),
        tensor('blk.0.scale', 'F64', [2, 1, 3]),
    ]
    files = {
        'metadata.gguf': write('metadata.gguf', every, dense),
        'quantized.gguf': write('quantized.gguf', [
            {'key': 'general.architecture', 'type': 'STRING', 'value': 'llama'},
            {'key': 'general.alignment', 'type': 'UINT32', 'value': 64},
            {'key': 'general.file_type', 'type': 'UINT32', 'value': 2},
        ], [
            tensor('blk.0.attn_q.weight', 'Q4_0', [3, 64]),
            tensor('output_norm.weight', 'F32', [5]),
            tensor('blk.0.attn_k.weight', 'Q8_0', [2, 32]),
            tensor('blk.0.empty', 'Q8_0', [0, 32]),
        ], alignment=64),
        'empty.gguf': write('empty.gguf', [], []),
    }
    with open(os.path.join(OUT, 'EXPECTED.json'), 'w') as f:
        json.dump({'files': files}, f, indent=1, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
