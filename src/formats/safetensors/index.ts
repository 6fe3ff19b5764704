/** @module Public surface of formats/safetensors/. */
export { readSafetensors, MAX_SAFETENSORS_HEADER } from './read-safetensors.ts';
export { safetensorsSteps, writeSafetensors } from './write-safetensors.ts';
export type { SafetensorsInput } from './write-safetensors.ts';
export { safetensorsFormat } from './safetensors-format.ts';
