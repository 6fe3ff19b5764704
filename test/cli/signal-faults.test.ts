/**
 * Signals at random instants (issue 11): 36 real `engram save` and `engram gc` processes get SIGINT
 * or SIGKILL, in two repositories at once. After each, the repository verifies, committed snapshots
 * restore exactly, SIGINT leaves no lock behind, and the next gc and save do not wait on the dead
 * process (test/helpers/fault-trials.ts). `scripts/fault-trials.ts --trials 1000` runs the long version.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFaultTrials } from '../helpers/fault-trials.ts';

// With crash.test.ts's 20 SIGKILLed saves, 56 fault trials in CI.
const TRIALS = 36;

test(`SIGINT and SIGKILL of engram save and gc at random instants (${TRIALS} trials)`, async (t) => {
  const summary = await runFaultTrials({ trials: TRIALS, lanes: 2, seed: 11 });
  t.diagnostic(JSON.stringify(summary));
  const kinds = Object.values(summary.byKind);
  assert.equal(kinds.reduce((a, b) => a + b, 0), TRIALS);
  for (const [kind, n] of Object.entries(summary.byKind)) assert.ok(n >= TRIALS / 4 - 1, `${kind}: ${n} trials`);
});
