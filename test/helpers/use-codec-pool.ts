/** Uses the shared codec pool once and then simply ends: the process must exit on its own. */
import { CodecPool, sha256Hex } from '../../src/codec/index.ts';

const pool = CodecPool.shared();
const raw = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
await pool.whenReady();
const enc = await pool.encode(raw, { width: 4, level: 3 });
const back = await pool.decode(enc, { expectedHash: sha256Hex(raw) });
console.log(`decoded ${back.byteLength} bytes`);
