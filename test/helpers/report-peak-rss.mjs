// Preloaded (node --import) into a CLI child by peak-rss.ts: at exit, writes the process's peak
// resident set size (VmHWM of /proc/self/status, in bytes) to the file ENGRAM_PEAK_RSS_FILE names.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.ENGRAM_PEAK_RSS_FILE;
if (out) {
  process.on('exit', () => {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    writeFileSync(out, m ? String(Number(m[1]) * 1024) : 'missing');
  });
}
