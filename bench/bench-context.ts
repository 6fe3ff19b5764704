/** @module BenchContext: what every suite gets from the driver — sizes, a temp directory, logging. */
import type { Figure } from './report.ts';

/** Options and shared state of one benchmark run. */
export interface BenchContext {
  /** Smaller sizes for iterating (W1 128 MiB instead of 1 GiB). */
  readonly quick: boolean;
  /** Bytes of W1 (and W2 is half of it). */
  readonly w1Bytes: number;
  /** A fresh directory under os.tmpdir(), removed at the end of the run. */
  readonly tmp: string;
  /** torch's version when /usr/bin/python3 imports it. */
  readonly torch: string | undefined;
  /** Where children write --cpu-prof profiles, when profiling. */
  readonly cpuProfDir: string | undefined;
  /** Progress to stderr. */
  log(line: string): void;
  /** Records a figure (printed as it comes and in the final table). */
  add(figure: Figure): void;
  /** Cold-cache methods used during the run. */
  readonly coldMethods: Set<string>;
}
