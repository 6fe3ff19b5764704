"""Reference side of engram's PyTorch writer tests, run with Debian's python3 (python3-torch).

  torch-checkpoint.py dump FILE [--full]   torch.load FILE (weights_only=True unless --full) and print
                                           JSON: every tensor by dotted path -> dtype, shape, sha256 of
                                           its C-order little-endian bytes (bool as 0/1 bytes), plus the
                                           non-tensor leaves as JSON.
  torch-checkpoint.py make FILE            torch.save a state dict holding every dtype torch 1.13 can
                                           store (incl. bfloat16, bool, 0-d, empty, > 1000 entries) and
                                           print what `dump` prints for it.
  torch-checkpoint.py make-bytes FILE      like make, but torch.save to a buffer (archive name
                                           'archive'), to compare engram's bytes with torch's.
  torch-checkpoint.py make-large FILE      torch.save a small model's state dict whose weights are
                                           each over 64 KiB (f32, bf16, f16) plus two small biases.
  ... make FILE --no-empty                 leave out the empty tensor (older engram readers listed an
                                           empty tensor's storage as an extra 'storage:<key>' tensor).

Never executes anything from a file it did not write except through torch.load(weights_only=True),
or with --full, torch's full unpickler (only for files the test wrote itself).
"""
import hashlib
import io
import json
import math
import sys
from collections import OrderedDict

import torch


def tensor_bytes(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b''


def describe(obj, path, out):
    if isinstance(obj, torch.Tensor):
        out['tensors'][path] = {
            'dtype': str(obj.dtype).replace('torch.', ''),
            'shape': list(obj.shape),
            'sha256': hashlib.sha256(tensor_bytes(obj)).hexdigest(),
        }
        return {'$tensor': path}
    key = lambda k: str(k) if path == '' else f'{path}.{k}'
    if isinstance(obj, dict):
        return {'$dict': [[k if isinstance(k, (str, int)) else str(k), describe(v, key(k), out)] for k, v in obj.items()],
                'ordered': isinstance(obj, OrderedDict)}
    if isinstance(obj, tuple):
        return {'$tuple': [describe(v, key(i), out) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [describe(v, key(i), out) for i, v in enumerate(obj)]
    if isinstance(obj, float):
        return {'$float': obj if math.isfinite(obj) else str(obj)}
    if isinstance(obj, bytes):
        return {'$bytesSha256': hashlib.sha256(obj).hexdigest()}
    if isinstance(obj, torch.dtype):
        return {'$global': str(obj)}
    if isinstance(obj, int) and not isinstance(obj, bool) and abs(obj) > 2**53:
        return {'$int': str(obj)}
    return obj


def dump(path, full):
    obj = torch.load(path, weights_only=not full)
    out = {'tensors': {}}
    out['object'] = describe(obj, '', out)
    return out


def make(empty=True):
    g = torch.Generator().manual_seed(5)
    sd = OrderedDict()
    sd['conv.weight'] = torch.randn(4, 3, 3, 3, generator=g)
    sd['conv.bias'] = torch.randn(4, generator=g)
    sd['half'] = torch.randn(5, generator=g).half()
    sd['bf16'] = torch.tensor([1.0, -0.0, float('inf'), float('nan'), 1e-40, 3.14159]).to(torch.bfloat16)
    sd['f64'] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    sd['i64'] = torch.tensor([-(2**62), 0, 2**62 + 7], dtype=torch.int64)
    sd['i32'] = torch.arange(-3, 3, dtype=torch.int32)
    sd['i16'] = torch.arange(-300, 300, 7, dtype=torch.int16)
    sd['i8'] = torch.arange(-128, 128, 9, dtype=torch.int8)
    sd['u8'] = torch.arange(0, 256, 5, dtype=torch.uint8)
    sd['mask'] = torch.tensor([[True, False], [False, True]])
    sd['step'] = torch.tensor(7, dtype=torch.int64)
    if empty:
        sd['empty'] = torch.empty(2, 0, 3)
    sd['big'] = torch.randn(300, 300, generator=g)
    for i in range(1003):
        sd[f'many.{i}'] = torch.tensor([float(i)])
    return sd


def make_large():
    g = torch.Generator().manual_seed(11)
    sd = OrderedDict()
    sd['embed.weight'] = torch.randn(1000, 256, generator=g) * 0.02
    sd['fc1.weight'] = (torch.randn(512, 256, generator=g) * 0.05).to(torch.bfloat16)
    sd['fc1.bias'] = torch.randn(512, generator=g) * 0.01
    sd['fc2.weight'] = (torch.randn(256, 512, generator=g) * 0.05).half()
    sd['fc2.bias'] = torch.randn(256, generator=g) * 0.01
    return sd


if __name__ == '__main__':
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'dump':
        print(json.dumps(dump(path, '--full' in sys.argv[3:])))
    elif cmd == 'make-large':
        torch.save(make_large(), path)
        print(json.dumps(dump(path, False)))
    elif cmd in ('make', 'make-bytes'):
        sd = make('--no-empty' not in sys.argv[3:])
        if cmd == 'make':
            torch.save(sd, path)
        else:
            buf = io.BytesIO()
            torch.save(sd, buf)
            with open(path, 'wb') as f:
                f.write(buf.getvalue())
        print(json.dumps(dump(path, False)))
    else:
        sys.exit(f'unknown command {cmd}')
