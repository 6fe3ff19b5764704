#!/usr/bin/env python3
"""Writes test/fixtures/torch/generated/: small PyTorch checkpoints that the corpus lacks (views,
shared storages, tied weights, empty and 0-d tensors, non-tensor state, protocol 4, legacy views)
and hostile pickles whose payload would create MARKER if anything executed it. Their expected
tensors go to test/fixtures/torch/generated/EXPECTED.json. Run: python3 scripts/make-torch-fixtures.py
(Debian python3-torch 1.13 wrote the committed files)."""
import collections, hashlib, io, json, os, pickle, struct, zipfile
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'torch', 'generated')
MARKER = '/tmp/engram-unsafe-pickle-marker'
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


def sha(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return hashlib.sha256(t.view(torch.int16).numpy().tobytes()).hexdigest()
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()


def describe(obj, prefix=''):
    out = []
    if isinstance(obj, torch.Tensor):
        out.append({'name': prefix, 'dtype': str(obj.dtype).replace('torch.', ''), 'shape': list(obj.shape), 'sha256': sha(obj)})
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += describe(v, f'{prefix}.{k}' if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += describe(v, f'{prefix}.{i}' if prefix else str(i))
    return out


def views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    w = torch.randn(3, 2)
    strided = torch.arange(10, dtype=torch.int16)
    return collections.OrderedDict([
        ('base', base), ('transposed', base.t()), ('row', base[1]), ('column', base[:, 2]),
        ('tied_a', w), ('tied_b', w),
        ('every_other', strided[::2]), ('expanded', torch.arange(3.0).expand(4, 3)), ('empty', torch.zeros(0, 3)), ('scalar', torch.tensor(3.5, dtype=torch.float64)),
        ('bf16', torch.randn(5).to(torch.bfloat16)), ('mask', torch.tensor([True, False, True])),
        ('state', {'epoch': 7, 'lr': 0.5, 'big': 2 ** 70, 'neg': -3, 'nan': float('nan'), 'name': 'run-a', 'none': None,
                   'flags': [True, False], 'pair': (1, 2.5), 'blob': bytes(range(8)), 'ints': {1: 'one', 2: 'two'}}),
    ])


class Payload:
    """Pickles as a call to `fn(*args)`: what a hostile checkpoint does."""
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


expected = {}
obj = views()
for name, kwargs in [('views.pt', {}), ('views_protocol4.pt', {'pickle_protocol': 4}),
                     ('views_legacy.pt', {'_use_new_zipfile_serialization': False})]:
    torch.save(obj, os.path.join(OUT, name), **kwargs)
    expected[name] = {'tensors': describe(obj)}
torch.save(torch.nn.Parameter(torch.ones(2, 2)), os.path.join(OUT, 'parameter.pt'))
expected['parameter.pt'] = {'tensors': describe(torch.ones(2, 2))}

touch = f'touch {MARKER}'
sd = collections.OrderedDict([('w', torch.ones(2))])
hostile = {
    'os_system.pkl': Payload(os.system, touch),
    'builtins_exec.pkl': Payload(exec, f"open({MARKER!r}, 'w').close()"),
    'builtins_eval.pkl': Payload(eval, f"open({MARKER!r}, 'w')"),
}
for name, payload in hostile.items():
    with open(os.path.join(OUT, name), 'wb') as f:
        pickle.dump(payload, f, protocol=2 if 'system' in name else 4)
import subprocess
# A payload deep inside an otherwise normal checkpoint, in both torch formats.
deep = {'model': sd, 'optimizer': {'state': {0: {'exp_avg': torch.zeros(2), 'hook': [Payload(subprocess.Popen, ['touch', MARKER])]}}}}
# Protocol 3: at 2, pickle's fix_imports would write subprocess.Popen as commands.Popen.
torch.save(deep, os.path.join(OUT, 'deep_popen.pt'), pickle_protocol=3)
torch.save({'model': sd, 'x': Payload(os.system, touch)}, os.path.join(OUT, 'deep_system_legacy.pt'), _use_new_zipfile_serialization=False)

# Valid, but a dtype engram lacks: read as opaque bytes.
torch.save({'c': torch.zeros(2, dtype=torch.complex64)}, os.path.join(OUT, 'complex.pt'))

with open(os.path.join(OUT, 'EXPECTED.json'), 'w') as f:
    json.dump({'generator': 'scripts/make-torch-fixtures.py', 'torch': torch.__version__, 'marker': MARKER, 'opaque': ['complex.pt'], 'files': expected}, f, indent=1)
    f.write('\n')
