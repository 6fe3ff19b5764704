/**
 * The test suite itself holds no wall-clock limit: a correct run on a slow or busy machine must pass
 * (issue 11, item 18: a fuzz case's "over 2 s" hang guard failed at load 7). Tests bound work —
 * bytes requested, iterations, trials — instead. This reads every test source and names each line
 * that limits a test by time: a node:test `timeout` option, a timer that rejects (a race against
 * the clock), or an elapsed-time measurement with `process.hrtime`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TEST_DIR = fileURLToPath(new URL('..', import.meta.url));

const LIMITS: readonly { readonly what: string; readonly re: RegExp }[] = [
  { what: 'a node:test timeout option', re: /\b(test|it|describe|suite)\((.*), \{[^}]*\btimeout:/ },
  { what: 'a timer that rejects (a race against the clock)', re: /setTimeout\(\(\) => reject\(/ },
  { what: 'an elapsed-time measurement', re: /process\.hrtime/ },
];

test('no test limits itself by wall-clock time', () => {
  const found: string[] = [];
  let files = 0;
  for (const rel of readdirSync(TEST_DIR, { recursive: true, encoding: 'utf8' })) {
    if (!rel.endsWith('.ts')) continue;
    const path = join(TEST_DIR, rel);
    if (path === fileURLToPath(import.meta.url)) continue;
    files++;
    readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
      for (const { what, re } of LIMITS) if (re.test(line)) found.push(`test/${relative(TEST_DIR, path)}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.ok(files > 50, `read only ${files} test sources`);
  assert.deepEqual(found, []);
});
