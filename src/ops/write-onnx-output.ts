/** @module Writes an ONNX model planned from a template and new weights, data file first. */
import { basename, dirname, join } from 'node:path';
import { planOnnxFromTensors, type ByteSource, type OnnxCandidate, type OnnxWritePlan } from '../formats/index.ts';
import { writeFileAtomic } from '../repo/index.ts';

/**
 * How an ONNX output keeps external data: as its template does, or (`externalData`) for every
 * weight of 1 KiB or more; always in `<output name>.data`, so it never overwrites the template's.
 */
function externalOptions(out: string, externalData: boolean): { externalData?: boolean; externalThreshold?: number; dataLocation: string } {
  return { dataLocation: `${basename(out)}.data`, ...(externalData ? { externalData: true, externalThreshold: 1024 } : {}) };
}

/**
 * Writes an ONNX plan: the external data file first, then the model, each atomically, so a model
 * never names a data file that is not there yet. Returns the bytes written.
 */
async function writeOnnxFiles(out: string, plan: OnnxWritePlan): Promise<number> {
  let written = 0;
  if (plan.dataLocation !== undefined) written += await writeFileAtomic(join(dirname(out), plan.dataLocation), plan.data());
  return written + (await writeFileAtomic(out, plan.model()));
}

/**
 * Writes `candidates` into a copy of the ONNX model `template` at `out`, replacing the initializers
 * they name; returns the bytes written and how many initializers were replaced.
 */
export async function writeOnnxOutput(
  out: string, template: ByteSource, candidates: readonly OnnxCandidate[], externalData: boolean,
): Promise<{ bytes: number; replaced: number }> {
  const plan = await planOnnxFromTensors(template, candidates, externalOptions(out, externalData));
  return { bytes: await writeOnnxFiles(out, plan), replaced: plan.replaced.length };
}
