#!/usr/bin/env python3
"""Writes test/fixtures/hdf5/: small HDF5 files made by h5py, the shared corpus's Keras files, and
EXPECTED.json for all of them.

Run with Debian's python and python3-h5py (`apt-get install -y --no-install-recommends
python3-h5py`): `/usr/bin/python3 scripts/make-hdf5-fixtures.py`. Fixed seed; h5py's files carry no
timestamps (track_times off), so the output is reproducible with the same h5py/HDF5 versions.

- mixed.h5: every layout and type engram reads — contiguous little- and big-endian datasets,
  float16/32/64, signed and unsigned ints, h5py's bool enum, a 0-d scalar, an empty dataset,
  chunked, gzip+shuffle and gzip datasets, nested groups, a string dataset and string/number
  attributes (which are not tensors).
- small_keras.h5: a Keras-2 weights layout (layer_names, weight_names, one weightless layer with
  float64[0] weight_names), small enough for the fuzz suite.
- keras_model.h5 / keras_weights.h5: copied from ../shared/corpus/hdf5 (written by real h5py 3.7 /
  HDF5 1.10.8), with their EXPECTED entries, so the tests need no ../shared.

EXPECTED.json: per file its size and SHA-256, and per tensor (in engram's order) its name, engram
dtype, shape, SHA-256 of the little-endian C-order elements (bool as one byte 0/1) and whether
its bytes sit verbatim in the file (contiguous storage).
"""
import hashlib
import json
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'hdf5')
CORPUS = os.path.join(HERE, '..', '..', 'shared', 'corpus')
DTYPES = {'float16': 'F16', 'float32': 'F32', 'float64': 'F64', 'int8': 'I8', 'int16': 'I16', 'int32': 'I32',
          'int64': 'I64', 'uint8': 'U8', 'uint16': 'U16', 'uint32': 'U32', 'uint64': 'U64', 'bool': 'BOOL'}


def sha_of(a):
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == '>':
        a = a.astype(a.dtype.newbyteorder('<'))
    return hashlib.sha256(a.tobytes()).hexdigest()


def entry(name, a, contiguous):
    return {'name': name, 'dtype': DTYPES[np.dtype(a.dtype).newbyteorder('=').name], 'shape': list(a.shape),
            'sha256': sha_of(a), 'contiguous': contiguous}


def make_mixed(path):
    rng = np.random.default_rng(5)
    tensors = []
    with h5py.File(path, 'w', track_order=False) as f:
        f.attrs['note'] = 'engram hdf5 fixture'
        f.attrs['version'] = np.int32(3)

        def put(name, a, **kw):
            d = f.create_dataset(name, data=a, track_times=False, **kw)
            tensors.append((name, np.asarray(a), d.chunks is None and d.compression is None and a.size > 0))
        put('a/f32', rng.standard_normal((8, 6)).astype('<f4'))
        put('a/f64_be', rng.standard_normal(10).astype('>f8'))
        put('a/f16', rng.standard_normal((4, 4)).astype('<f2'))
        put('b/i8', rng.integers(-128, 127, 12, dtype='i1'))
        put('b/i16_be', rng.integers(-30000, 30000, (3, 3)).astype('>i2'))
        put('b/u32', rng.integers(0, 2**32 - 1, 7, dtype='<u4'))
        put('b/i64', rng.integers(-2**62, 2**62, 5, dtype='<i8'))
        put('b/flags', rng.integers(0, 2, 9).astype(bool))
        put('c/deep/deeper/scalar', np.float32(2.5))
        put('c/empty', np.zeros((0, 3), dtype='<f4'))
        put('d/chunked', rng.standard_normal((16, 8)).astype('<f4'), chunks=(4, 8))
        put('d/gzip', rng.standard_normal((32, 4)).astype('<f4'), chunks=(8, 4), compression='gzip', compression_opts=6, shuffle=True)
        put('d/zeros_gzip', np.zeros((64,), dtype='<f8'), compression='gzip')
        f.create_dataset('e/text', data=np.array([b'alpha', b'beta']), track_times=False)
        f['a'].attrs['about'] = 'floats'
    # In HDF5's link order (by name), which is the order engram lists datasets outside Keras's lists.
    return sorted(tensors, key=lambda t: t[0])


def make_small_keras(path):
    rng = np.random.default_rng(11)
    layers = [('dense', [('kernel:0', rng.standard_normal((6, 4)).astype('<f4')), ('bias:0', np.zeros(4, '<f4'))]),
              ('dropout', []),
              ('dense_1', [('kernel:0', rng.standard_normal((4, 3)).astype('<f4')), ('bias:0', rng.standard_normal(3).astype('<f4'))])]
    tensors = []
    with h5py.File(path, 'w') as f:
        f.attrs['backend'] = 'tensorflow'
        f.attrs['keras_version'] = '2.11.0'
        f.attrs['layer_names'] = np.array([n.encode() for n, _ in layers])
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs['weight_names'] = np.array([f'{name}/{w}'.encode() for w, _ in weights]) if weights else np.zeros(0, 'f8')
            for w, a in weights:
                kw = {'chunks': (2, 4)} if (name, w) == ('dense', 'kernel:0') else {}
                g.create_dataset(f'{name}/{w}', data=a, track_times=False, **kw)
                tensors.append((f'{name}/{name}/{w}', a, not kw))
    return tensors


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for fname, make in [('mixed.h5', make_mixed), ('small_keras.h5', make_small_keras)]:
        p = os.path.join(OUT, fname)
        tensors = make(p)
        data = open(p, 'rb').read()
        expected[fname] = {'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(),
                           'tensors': [entry(n, a, c) for n, a, c in tensors]}
    corpus = json.load(open(os.path.join(CORPUS, 'EXPECTED.json')))['files']
    for fname in ['keras_model.h5', 'keras_weights.h5']:
        shutil.copyfile(os.path.join(CORPUS, 'hdf5', fname), os.path.join(OUT, fname))
        e = corpus['hdf5/' + fname]
        expected[fname] = {'size': e['size'], 'sha256': e['file_sha256'], 'tensors': [
            {'name': t['name'], 'dtype': DTYPES[t['dtype']], 'shape': t['shape'], 'sha256': t['sha256'],
             'contiguous': t.get('storage', 'contiguous') == 'contiguous'} for t in e['tensors']]}
    with open(os.path.join(OUT, 'EXPECTED.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
