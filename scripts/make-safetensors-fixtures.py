#!/usr/bin/env python3
"""Writes test/fixtures/safetensors/*.safetensors and EXPECTED.json.

Python standard library only (no torch, numpy or safetensors needed), fixed seed, so the files are
reproducible anywhere: `python3 scripts/make-safetensors-fixtures.py`.

The files are laid out the way the reference serializer (the Rust `safetensors` crate behind
`safetensors.torch.save_file`) lays them out: compact JSON, `__metadata__` first, tensors sorted by
dtype (widest first, in the crate's enum order) then name, data contiguous in that order, header
padded with spaces to a multiple of 8. `holes.safetensors` deliberately breaks that layout (a gap
between tensors, bytes after the last one, header keys out of offset order) to check that readers
keep such bytes.

EXPECTED.json gives per file its size and SHA-256, and per tensor its name, dtype, shape and the
SHA-256 of its canonical bytes (little-endian, C order), the same definition as shared/corpus.
"""
import hashlib
import json
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'safetensors')

# The crate's Dtype enum order; it sorts tensors by this, descending, then by name.
RUST_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
SIZE = {'BOOL': 1, 'U8': 1, 'I8': 1, 'I16': 2, 'U16': 2, 'F16': 2, 'BF16': 2, 'I32': 4, 'U32': 4, 'F32': 4, 'F64': 8, 'I64': 8, 'U64': 8}
PACK = {'U8': 'B', 'I8': 'b', 'I16': 'h', 'U16': 'H', 'F16': 'e', 'I32': 'i', 'U32': 'I', 'F32': 'f', 'F64': 'd', 'I64': 'q', 'U64': 'Q'}

rng = random.Random(20240611)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def pack(dtype, values):
    """Little-endian bytes of `values` as `dtype`."""
    if dtype == 'BOOL':
        return bytes(1 if v else 0 for v in values)
    if dtype == 'BF16':
        # bfloat16 = the top 16 bits of float32, rounded to nearest even.
        out = bytearray()
        for v in values:
            (x,) = struct.unpack('<I', struct.pack('<f', v))
            x = (x + 0x7FFF + ((x >> 16) & 1)) >> 16
            out += struct.pack('<H', x & 0xFFFF)
        return bytes(out)
    return struct.pack('<%d%s' % (len(values), PACK[dtype]), *values)


def gauss(n, std=0.02):
    return [rng.gauss(0.0, std) for _ in range(n)]


def tensor(name, dtype, shape, values):
    data = pack(dtype, values)
    assert len(data) == numel(shape) * SIZE[dtype], name
    return {'name': name, 'dtype': dtype, 'shape': shape, 'data': data}


def header_bytes(fields):
    """Compact JSON of ordered (key, value) pairs, padded with spaces to a multiple of 8."""
    text = '{' + ','.join(json.dumps(k, ensure_ascii=False) + ':' + json.dumps(v, ensure_ascii=False, separators=(',', ':'))
                          for k, v in fields) + '}'
    raw = text.encode('utf-8')
    return raw + b' ' * ((8 - len(raw) % 8) % 8)


def serialize(tensors, metadata=None):
    """What the reference serializer writes for these tensors."""
    ordered = sorted(tensors, key=lambda t: (-RUST_ORDER.index(t['dtype']), t['name'].encode('utf-8')))
    fields = []
    if metadata is not None:
        fields.append(('__metadata__', metadata))
    offset = 0
    for t in ordered:
        end = offset + len(t['data'])
        fields.append((t['name'], {'dtype': t['dtype'], 'shape': t['shape'], 'data_offsets': [offset, end]}))
        offset = end
    header = header_bytes(fields)
    return struct.pack('<Q', len(header)) + header + b''.join(t['data'] for t in ordered), ordered


def holes_file(tensors):
    """A file with a gap between tensors and bytes after the last, header keys in reverse order."""
    gap = bytes(rng.randrange(256) for _ in range(13))
    trailer = b'trailing bytes kept verbatim\n'
    placed = []
    offset = 0
    body = b''
    for i, t in enumerate(tensors):
        placed.append((t, offset, offset + len(t['data'])))
        body += t['data']
        offset += len(t['data'])
        if i == 0:
            body += gap
            offset += len(gap)
    body += trailer
    fields = [(t['name'], {'dtype': t['dtype'], 'shape': t['shape'], 'data_offsets': [b, e]}) for t, b, e in reversed(placed)]
    header = header_bytes(fields)
    return struct.pack('<Q', len(header)) + header + body, [t for t, _, _ in placed]


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}

    def emit(fname, data, tensors, metadata=None):
        with open(os.path.join(OUT, fname), 'wb') as f:
            f.write(data)
        entry = {
            'size': len(data),
            'file_sha256': hashlib.sha256(data).hexdigest(),
            'tensors': [{'name': t['name'], 'dtype': t['dtype'], 'shape': t['shape'], 'sha256': hashlib.sha256(t['data']).hexdigest()}
                        for t in tensors],
        }
        if metadata is not None:
            entry['metadata'] = metadata
        files[fname] = entry

    # __metadata__ (with a non-ASCII value) and a header that needs padding.
    meta = {'format': 'pt', 'note': 'größe 1'}
    ts = [
        tensor('encoder.weight', 'F32', [4, 6], gauss(24)),
        tensor('encoder.bias', 'F32', [6], gauss(6)),
        tensor('step', 'I64', [], [1234]),
    ]
    data, ordered = serialize(ts, meta)
    assert (len(data) - 8) % 8 == 0
    emit('metadata.safetensors', data, ordered, meta)

    # Empty tensors among non-empty ones (non-empty first, so their byte ranges are not zero).
    ts = [
        tensor('bias', 'F32', [4], gauss(4)),
        tensor('weight', 'F32', [3, 4], gauss(12)),
        tensor('empty_vec', 'I32', [0], []),
        tensor('empty_mat', 'U8', [2, 0], []),
    ]
    data, ordered = serialize(ts)
    emit('empty.safetensors', data, ordered)

    # Every common dtype, including ones numpy lacks (BF16) and specials (inf, nan, -0, subnormal).
    specials = [float('inf'), float('-inf'), float('nan'), -0.0, 1e-40, 65504.0, 1.0, -2.5]
    ts = [
        tensor('bf16', 'BF16', [2, 8], specials + gauss(8, 1.0)),
        tensor('f16', 'F16', [8], [float('inf'), float('-inf'), float('nan'), -0.0, 6e-8, 65504.0, 1.0, -2.5]),
        tensor('mask', 'BOOL', [3, 5], [rng.random() < 0.5 for _ in range(15)]),
        tensor('ids', 'I64', [5], [0, -1, 2 ** 62, -(2 ** 63), 42]),
        tensor('pixels', 'U8', [4, 4], [rng.randrange(256) for _ in range(16)]),
    ]
    data, ordered = serialize(ts)
    emit('dtypes.safetensors', data, ordered)

    # One tensor over 4 MiB that looks like trained weights.
    ts = [tensor('layer.weight', 'F32', [1100, 1000], gauss(1100 * 1000))]
    data, ordered = serialize(ts)
    emit('large.safetensors', data, ordered)

    # A hole between tensors and trailing bytes.
    ts = [
        tensor('first', 'F32', [3, 3], gauss(9)),
        tensor('second', 'I16', [5], [1, -2, 3, -4, 5]),
    ]
    data, placed = holes_file(ts)
    emit('holes.safetensors', data, placed)

    with open(os.path.join(OUT, 'EXPECTED.json'), 'w') as f:
        json.dump({'generator': 'scripts/make-safetensors-fixtures.py', 'hash_definition':
                   "sha256 over the tensor's canonical bytes: C order, little-endian; bool = 1 byte (0/1)",
                   'files': files}, f, indent=1, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
