/**
 * @module Finds every TensorProto an ONNX model holds weights in: the main graph's initializers,
 * the `value` of each `Constant` node (Paddle2ONNX keeps all weights there), and both again inside
 * subgraphs (If then/else_branch, Loop/Scan body, nested), with a bounded recursive walk that skips
 * everything else by length.
 */
import type { ProtobufReader } from './protobuf-reader.ts';
import { readString, readTensorProto, unsupported, type TensorProtoInfo } from './onnx-tensor-proto.ts';

/** Subgraphs nested deeper than this make the model "unsupported" (kept opaque), bounding the recursion. */
export const ONNX_MAX_SUBGRAPH_DEPTH = 32;

/** A TensorProto found in the model, and what holds it. */
export interface FoundTensorProto {
  readonly info: TensorProtoInfo;
  /** `initializer` of the main graph; `subgraph` initializer; `constant`: a Constant node's value. */
  readonly source: 'initializer' | 'subgraph' | 'constant';
  /** The name it is known by in the graph: the initializer's name, or the Constant node's output. */
  readonly name: string;
}

/** Walks ModelProto → graph (7), collecting tensors in file order. */
export async function findGraphTensors(cur: ProtobufReader): Promise<FoundTensorProto[]> {
  const out: FoundTensorProto[] = [];
  while (cur.more) {
    const t = await cur.tag();
    if (t.field !== 7 || t.wire !== 2) {
      await cur.skip(t.wire, `field ${t.field} of ModelProto`);
      continue;
    }
    const g = await cur.span('graph');
    await cur.within(g.start, g.length, () => walkGraph(cur, 0, out));
  }
  return out;
}

async function walkGraph(cur: ProtobufReader, depth: number, out: FoundTensorProto[]): Promise<void> {
  if (depth > ONNX_MAX_SUBGRAPH_DEPTH) unsupported(cur.src, cur.pos, `subgraphs nested deeper than ${ONNX_MAX_SUBGRAPH_DEPTH}`);
  while (cur.more) {
    const f = await cur.tag();
    if (f.field === 5 && f.wire === 2) {
      const s = await cur.span('initializer');
      const info = await cur.within(s.start, s.length, () => readTensorProto(cur, f.at));
      out.push({ info, source: depth === 0 ? 'initializer' : 'subgraph', name: info.name });
    } else if (f.field === 1 && f.wire === 2) {
      const s = await cur.span('node');
      await cur.within(s.start, s.length, () => walkNode(cur, depth, out));
    } else {
      await cur.skip(f.wire, `field ${f.field} of GraphProto`);
    }
  }
}

/** NodeProto: output (2), op_type (4), attribute (5), domain (7). Fields may come in any order. */
async function walkNode(cur: ProtobufReader, depth: number, out: FoundTensorProto[]): Promise<void> {
  const outputs: string[] = [];
  let opType = '';
  let domain = '';
  let value: TensorProtoInfo | undefined;
  while (cur.more) {
    const f = await cur.tag();
    if (f.field === 2 && f.wire === 2) outputs.push(await readString(cur, 'node output'));
    else if (f.field === 4 && f.wire === 2) opType = await readString(cur, 'op_type');
    else if (f.field === 7 && f.wire === 2) domain = await readString(cur, 'domain');
    else if (f.field === 5 && f.wire === 2) {
      const s = await cur.span('attribute');
      const attr = await cur.within(s.start, s.length, () => walkAttribute(cur, f.at, depth, out));
      if (attr.name === 'value' && attr.tensor) value = attr.tensor;
    } else {
      await cur.skip(f.wire, `field ${f.field} of NodeProto`);
    }
  }
  // Only the standard operator set's Constant: a custom domain's "Constant" may mean anything.
  if (opType === 'Constant' && (domain === '' || domain === 'ai.onnx') && value) {
    out.push({ info: value, source: 'constant', name: outputs[0] ?? '' });
  }
}

/** AttributeProto: name (1), t (5), g (6), graphs (11); the rest (value_float(s), ints, strings, sparse) is skipped. */
async function walkAttribute(cur: ProtobufReader, at: number, depth: number, out: FoundTensorProto[]): Promise<{ name: string; tensor?: TensorProtoInfo }> {
  let name = '';
  let tensor: TensorProtoInfo | undefined;
  while (cur.more) {
    const f = await cur.tag();
    if (f.field === 1 && f.wire === 2) name = await readString(cur, 'attribute name');
    else if (f.field === 5 && f.wire === 2) {
      const s = await cur.span('attribute tensor');
      tensor = await cur.within(s.start, s.length, () => readTensorProto(cur, at));
    } else if ((f.field === 6 || f.field === 11) && f.wire === 2) {
      const s = await cur.span('subgraph');
      await cur.within(s.start, s.length, () => walkGraph(cur, depth + 1, out));
    } else {
      await cur.skip(f.wire, `field ${f.field} of AttributeProto`);
    }
  }
  return tensor ? { name, tensor } : { name };
}
