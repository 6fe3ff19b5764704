/**
 * @module A progress bar on stderr, drawn only when stderr is a terminal, so pipes, logs and
 * `--json` output stay clean.
 */

/** Draws `label [#####-----] 42% done/total`, redrawing at most ten times a second. */
export class ProgressBar {
  readonly #label: string;
  readonly #enabled: boolean;
  readonly #format: (n: number) => string;
  #last = 0;
  #drawn = false;

  constructor(label: string, options: { enabled?: boolean; format?: (n: number) => string } = {}) {
    this.#label = label;
    this.#enabled = options.enabled ?? (process.stderr.isTTY === true && process.env.CI !== 'true');
    this.#format = options.format ?? String;
  }

  /** Reports progress; cheap to call often. */
  update(done: number, total: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const fill = Math.round(frac * width);
    const line = `${this.#label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${this.#format(done)}/${this.#format(total)}`;
    process.stderr.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Clears the bar's line. */
  done(): void {
    if (this.#drawn) process.stderr.write('\r\x1b[K');
    this.#drawn = false;
  }
}
