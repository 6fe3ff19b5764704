/**
 * @module Maps HDF5 stored types to engram dtypes and back (h5wasm dtype strings for writing).
 */
import type { DType } from '../../tensor/index.ts';
import type { Hdf5TypeInfo } from './h5wasm-protocol.ts';

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_ENUM = 8;

/** The attribute engram puts on a dataset whose dtype HDF5 has no plain type for (BOOL, stored as u8). */
export const ENGRAM_DTYPE_ATTR = 'engram_dtype';

/**
 * The engram dtype of an HDF5 type, or undefined when it is not a plain number (strings, compounds,
 * references, other enums). Floats are taken by size as IEEE half/single/double: h5wasm does not
 * report a custom float's exponent and mantissa widths, and h5py writes only IEEE floats. h5py's
 * bool (an int8 enum FALSE=0, TRUE=1) is BOOL.
 */
export function dtypeOfHdf5(t: Hdf5TypeInfo): DType | undefined {
  if (t.typeClass === H5T_FLOAT) return ({ 2: 'F16', 4: 'F32', 8: 'F64' } as const)[t.size as 2 | 4 | 8];
  if (t.typeClass === H5T_INTEGER) {
    const bySize = t.signed ? ({ 1: 'I8', 2: 'I16', 4: 'I32', 8: 'I64' } as const) : ({ 1: 'U8', 2: 'U16', 4: 'U32', 8: 'U64' } as const);
    return bySize[t.size as 1 | 2 | 4 | 8];
  }
  if (t.typeClass === H5T_ENUM && t.size === 1 && t.enumMembers) {
    const m = t.enumMembers;
    const names = Object.keys(m).sort();
    if (names.length === 2 && names[0] === 'FALSE' && names[1] === 'TRUE' && m.FALSE === 0 && m.TRUE === 1) return 'BOOL';
  }
  return undefined;
}

// No F16: h5wasm 0.10's writer (C side and JS side) creates only 4- and 8-byte floats.
const WRITE_DTYPES: Partial<Record<DType, string>> = {
  F64: '<d', F32: '<f',
  I64: '<q', I32: '<i', I16: '<h', I8: '<b',
  U64: '<Q', U32: '<I', U16: '<H', U8: '<B',
  // h5py's bool is an enum h5wasm cannot create; stored as u8 and tagged (ENGRAM_DTYPE_ATTR) instead.
  BOOL: '<B',
};

/** The h5wasm dtype string engram writes `dtype` as, or undefined when engram cannot write it: HDF5 has no BF16 or FP8 type, opaque blocks have no element shape, and h5wasm cannot write F16. */
export function hdf5WriteDtype(dtype: DType): string | undefined {
  return WRITE_DTYPES[dtype];
}
