/** @module The `--template MODEL.onnx` of an ONNX export or conversion, checked and opened. */
import { EngramError } from '../errors/index.ts';
import { openFileSource, type ByteSource } from '../formats/index.ts';

/** Checks `--template` for an ONNX output of `engram <command>` and opens it. */
export async function openOnnxTemplate(template: string | undefined, command: string): Promise<ByteSource> {
  if (!template) {
    throw new EngramError('InvalidArgument', `engram ${command} writes ONNX by putting new weights into an existing model: give --template MODEL.onnx`, { format: 'onnx' });
  }
  return openFileSource(template);
}
