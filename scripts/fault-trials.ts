/**
 * Long fault runs (docs/FAULTS.md): `node --import tsx scripts/fault-trials.ts --trials 1000 [--lanes 2] [--seed 1]`
 * sends SIGINT or SIGKILL to real `engram save` and `engram gc` processes at random instants and
 * checks the repository after each (test/helpers/fault-trials.ts says what is checked). Exits 1 on
 * the first failed check, printing it; otherwise prints a summary.
 */
import { parseArgs } from 'node:util';
import { runFaultTrials } from '../test/helpers/fault-trials.ts';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '1000' }, lanes: { type: 'string', default: '2' }, seed: { type: 'string', default: '1' } } });
const num = (name: string, v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};
const started = Date.now();
try {
  const summary = await runFaultTrials({
    trials: num('trials', values.trials), lanes: num('lanes', values.lanes), seed: num('seed', values.seed),
    onTrial: (done, s) => { if (done % 50 === 0) console.error(`${done} trials passed (${Math.round((Date.now() - started) / 1000)} s): ${JSON.stringify(s.whileLocked)} while locked`); },
  });
  console.log(JSON.stringify({ ...summary, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
} catch (e) {
  console.error(`fault trial failed: ${(e as Error).message}`);
  process.exitCode = 1;
}
