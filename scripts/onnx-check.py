"""Reference side of engram's ONNX writer tests, run with Debian's python3 (python3-onnx).

  onnx-check.py MODEL   onnx.checker.check_model on MODEL (by path, so external data references are
                        checked too), then the full check (with shape inference) on the model
                        loaded with its external data, in memory, and print JSON:
                        every initializer by name -> data type, dims and the sha256 of its
                        little-endian C-order bytes as numpy_helper decodes them.
Exits non-zero with the checker's message when the model is invalid. The file is never modified:
onnx 1.12's check_model(path, full_check=True) writes the shape-inferred model back over the path,
so the full check runs on the in-memory model only, and the script verifies the file is unchanged.
"""
import hashlib
import json
import sys

try:
    import onnx
    from onnx import numpy_helper
except ImportError:
    sys.exit('python3-onnx is missing: apt-get install -y --no-install-recommends python3-onnx')


def main(path):
    with open(path, 'rb') as f:
        before = hashlib.sha256(f.read()).hexdigest()
    onnx.checker.check_model(path)
    external = {i.name for i in onnx.load(path, load_external_data=False).graph.initializer
                if i.data_location == onnx.TensorProto.EXTERNAL}
    model = onnx.load(path, load_external_data=True)
    onnx.checker.check_model(model, full_check=True)
    with open(path, 'rb') as f:
        if hashlib.sha256(f.read()).hexdigest() != before:
            sys.exit(f'onnx.checker modified {path}')
    out = {}
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init)
        out[init.name] = {
            'data_type': init.data_type,
            'dims': list(init.dims),
            'sha256': hashlib.sha256(arr.astype(arr.dtype.newbyteorder('<')).tobytes(order='C')).hexdigest(),
            'external': init.name in external,
        }
    print(json.dumps({'ir_version': model.ir_version, 'initializers': out}))


if __name__ == '__main__':
    main(sys.argv[1])
