#!/usr/bin/env python3
"""Writes test/fixtures/compressed/: small compressed containers made by the real tools, and
EXPECTED.json describing them, for the tests of compressed and partly non-numeric containers.

Run with Debian's python: `/usr/bin/python3 scripts/make-compressed-fixtures.py`, after
`apt-get install -y --no-install-recommends python3-h5py python3-tables python3-scipy
hdf5-plugin-lzf hdf5-filter-plugin-blosc-serial` (the plugins let h5py write and check lzf and
blosc). Fixed seeds, so the values are reproducible; the bytes of the PyTables file and of the
.npz files are not (PyTables and Python's zipfile record the time of writing), so the tests use
the committed files and this script's EXPECTED.json together.

- blosc_pytables.h5: a PyTables CArray compressed with blosc (filter 32001, what PyTables writes
  by default with complib='blosc') beside an uncompressed array.
- lzf.h5: an h5py dataset compressed with lzf (filter 32000) beside a contiguous one.
- gzip_shuffle.h5: h5py datasets with gzip+shuffle and gzip (filters h5wasm decodes).
- sparse.npz / sparse_stored.npz: scipy.sparse.save_npz of a CSR matrix, deflated (the default)
  and stored; the `format` member is a 0-d '|S3' array (scipy 1.10; newer ones write '<U3'), not numeric.
- mixed_members.npz: np.savez with a float32 and an int64 array beside a string ('<U6'), a
  float128 ('<f16') and an object-free structured array — the non-numeric members stay literal.
- compressed.npz: np.savez_compressed of quantised weights (they compress to about half).

EXPECTED.json: per file its size and SHA-256, the tensors engram must read (name, engram dtype,
shape, SHA-256 of the little-endian C-order elements) and the members or datasets it must not
read as tensors (`not_tensors`), with the filter when one is the reason.
"""
import hashlib
import json
import os

import h5py
import numpy as np
import scipy.sparse
import tables

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'compressed')
DTYPES = {'float16': 'F16', 'float32': 'F32', 'float64': 'F64', 'int8': 'I8', 'int16': 'I16', 'int32': 'I32',
          'int64': 'I64', 'uint8': 'U8', 'uint16': 'U16', 'uint32': 'U32', 'uint64': 'U64', 'bool': 'BOOL'}


def tensor(name, a):
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == '>':
        a = a.astype(a.dtype.newbyteorder('<'))
    return {'name': name, 'dtype': DTYPES[a.dtype.name], 'shape': list(a.shape), 'sha256': hashlib.sha256(a.tobytes()).hexdigest()}


def weights(rng, shape):
    # Rounded to a coarse grid so that deflate has something to remove, as in quantised checkpoints.
    return (np.round(rng.standard_normal(shape) * 16) / 16).astype('<f4')


def make_blosc(path):
    rng = np.random.default_rng(21)
    w = weights(rng, (64, 32))
    plain = np.arange(12, dtype='<i4')
    with tables.open_file(path, 'w') as f:
        f.create_carray('/', 'kernel', obj=w, filters=tables.Filters(complevel=5, complib='blosc'))
        f.create_array('/', 'plain', obj=plain)
    with h5py.File(path, 'r') as f:
        assert f['kernel'].id.get_create_plist().get_filter(0)[0] == 32001
        assert np.array_equal(f['kernel'][()], w)
    return {'tensors': [], 'not_tensors': [{'name': 'kernel', 'filter': 'blosc (32001)'}]}


def make_lzf(path):
    rng = np.random.default_rng(22)
    w = weights(rng, (48, 32))
    with h5py.File(path, 'w') as f:
        f.create_dataset('dense/kernel', data=w, compression='lzf', track_times=False)
        f.create_dataset('dense/bias', data=np.linspace(-1, 1, 32, dtype='<f4'), track_times=False)
    return {'tensors': [], 'not_tensors': [{'name': 'dense/kernel', 'filter': 'lzf (32000)'}]}


def make_gzip(path):
    rng = np.random.default_rng(23)
    k = weights(rng, (128, 96))
    b = weights(rng, (96,))
    e = weights(rng, (40, 64))
    with h5py.File(path, 'w', track_order=False) as f:
        f.create_dataset('dense/kernel', data=k, chunks=(32, 96), compression='gzip', compression_opts=4, shuffle=True, track_times=False)
        f.create_dataset('dense/bias', data=b, compression='gzip', track_times=False)
        f.create_dataset('embed', data=e, chunks=(16, 64), compression='gzip', compression_opts=6, track_times=False)
    return {'tensors': [tensor('dense/bias', b), tensor('dense/kernel', k), tensor('embed', e)], 'not_tensors': []}


def sparse_matrix():
    rng = np.random.default_rng(24)
    dense = np.where(rng.random((200, 150)) < 0.05, rng.standard_normal((200, 150)), 0).astype('<f8')
    return scipy.sparse.csr_matrix(dense)


def make_sparse(path, compressed):
    m = sparse_matrix()
    scipy.sparse.save_npz(path, m, compressed=compressed)
    with np.load(path) as z:
        names = {n: z[n] for n in z.files}
    assert names['format'].dtype.kind in 'SU'  # '|S3' with scipy 1.10, '<U3' with newer ones
    ts = [tensor(n, names[n]) for n in ('indices', 'indptr', 'shape', 'data')]
    return {'tensors': ts, 'not_tensors': [{'name': 'format'}]}


def make_mixed(path):
    rng = np.random.default_rng(25)
    w = rng.standard_normal((10, 7)).astype('<f4')
    steps = np.arange(20, dtype='<i8')
    labels = np.array(['alpha', 'beta', 'gamma6'])
    wide = np.arange(6, dtype=np.longdouble).reshape(2, 3)
    assert wide.dtype.itemsize == 16
    pairs = np.zeros(3, dtype=[('a', '<i4'), ('b', '<f4')])
    np.savez(path, weights=w, labels=labels, wide=wide, steps=steps, pairs=pairs)
    return {'tensors': [tensor('weights', w), tensor('steps', steps)],
            'not_tensors': [{'name': 'labels'}, {'name': 'wide'}, {'name': 'pairs'}]}


def make_compressed(path):
    rng = np.random.default_rng(26)
    arrays = {'layer0.weight': weights(rng, (96, 128)), 'layer0.bias': weights(rng, (128,)),
              'layer1.weight': weights(rng, (128, 64)), 'step': np.array(1234, dtype='<i8')}
    np.savez_compressed(path, **arrays)
    return {'tensors': [tensor(n, a) for n, a in arrays.items()], 'not_tensors': []}


def main():
    os.makedirs(OUT, exist_ok=True)
    makers = [('blosc_pytables.h5', make_blosc), ('lzf.h5', make_lzf), ('gzip_shuffle.h5', make_gzip),
              ('sparse.npz', lambda p: make_sparse(p, True)), ('sparse_stored.npz', lambda p: make_sparse(p, False)),
              ('mixed_members.npz', make_mixed), ('compressed.npz', make_compressed)]
    expected = {}
    for name, make in makers:
        path = os.path.join(OUT, name)
        if os.path.exists(path):
            os.remove(path)
        entry = make(path)
        with open(path, 'rb') as fh:
            data = fh.read()
        expected[name] = {'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(), **entry}
    with open(os.path.join(OUT, 'EXPECTED.json'), 'w') as fh:
        json.dump(expected, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    main()
