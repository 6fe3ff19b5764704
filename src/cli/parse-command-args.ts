/**
 * @module One argument parser for every command: node:util parseArgs (strict, positionals allowed)
 * that also accepts a negative number as an option's value.
 *
 * parseArgs refuses `--step -1` as "ambiguous" (the value looks like an option), which tells the
 * user nothing about what the option accepts. A value that reads as a number is therefore joined
 * to its string option (`--step=-1`) first, and the command's own check says which range is allowed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommandArgs} returns for the options `O`: parseArgs's own result type. */
export type ParsedCommandArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

const NUMBER = /^-\d|^-\.\d/;

/** `argv` with `--opt -5` joined into `--opt=-5` for each string option `opt`. */
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const shortToLong = new Map(Object.entries(options).flatMap(([k, o]) => (o.short ? [[o.short, k] as const] : [])));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? shortToLong.get(a.slice(1)) : undefined;
    const next = argv[i + 1];
    if (long !== undefined && options[long]?.type === 'string' && next !== undefined && NUMBER.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Parses a command's arguments (strict: an unknown option is an error; positionals allowed).
 *
 * @example const { values, positionals } = parseCommandArgs(argv, { step: { type: 'string' } });
 */
export function parseCommandArgs<const O extends Options>(argv: readonly string[], options: O): ParsedCommandArgs<O> {
  return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true } as const);
}
