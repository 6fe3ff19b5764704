/**
 * @module The build: compiles src/ into dist/, which the `engram` bin and the package's `exports` run
 * with plain node (no TypeScript loader at run time).
 *
 *   npm run build                            JavaScript and .d.ts types (also `prepare`, so `npm install`)
 *   node --import tsx scripts/build.ts --js  JavaScript only: what the CLI tests and benchmarks need
 *
 * JavaScript is emitted file by file (ts.transpileModule; the sources are `isolatedModules`, so one
 * file's output never depends on another's types) and only for the sources whose bytes changed
 * since the last build, recorded in dist/.build-state.json: a no-change build reads the sources,
 * hashes them and stops, without loading TypeScript. The .d.ts types need the whole program, so
 * only a full build runs `tsc -p tsconfig.build.json` for them (seconds, not milliseconds).
 *
 * Every output is written to a temporary file and renamed into place, so builds racing each other
 * (test files starting at once, each making sure dist/ is current) leave whole files.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const STATE = join(DIST, '.build-state.json');
// A change to either tsconfig or to this script can change every output.
const INPUTS_OF_EVERY_FILE = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts'];

/**
 * Whether a file under src/ belongs in dist/. The `*-boot.js` worker entries exist only to register
 * tsx inside a worker started from the sources; from dist/ the host starts the compiled body itself.
 */
function isBuilt(rel: string): boolean {
  if (rel.endsWith('.d.ts')) return false;
  return rel.endsWith('.ts') || rel.endsWith('.wasm') || (rel.endsWith('.js') && !rel.endsWith('-boot.js'));
}

/** The dist/ path of a source (`x.ts` → `x.js`; a `.js` source or a `.wasm` kernel is copied). */
function outputOf(rel: string): string {
  return rel.endsWith('.ts') ? rel.slice(0, -3) + '.js' : rel;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeAtomic(path: string, text: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

interface BuildState {
  /** Hash of {@link INPUTS_OF_EVERY_FILE}. */
  readonly config: string;
  /** Source path (relative to src/) → SHA-256 of its bytes when it was last emitted. */
  readonly sources: Record<string, string>;
}

function readState(): BuildState | undefined {
  try {
    return JSON.parse(readFileSync(STATE, 'utf8')) as BuildState;
  } catch {
    return undefined;
  }
}

/** What {@link buildJs} did. */
export interface BuildResult {
  /** Sources emitted (0 when dist/ was current). */
  readonly emitted: number;
  /** Outputs removed because their source is gone. */
  readonly removed: number;
}

/**
 * Brings dist/'s JavaScript up to date with src/: emits the sources whose bytes changed and removes
 * the outputs of deleted sources. Returns at once, without loading TypeScript, when nothing changed.
 */
export function buildJs(): BuildResult {
  const config = sha256(INPUTS_OF_EVERY_FILE.map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\0'));
  const sources: Record<string, string> = {};
  const texts = new Map<string, string | Uint8Array>();
  for (const rel of readdirSync(SRC, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!isBuilt(rel)) continue;
    const text = rel.endsWith('.wasm') ? readFileSync(join(SRC, rel)) : readFileSync(join(SRC, rel), 'utf8');
    sources[rel] = sha256(text);
    texts.set(rel, text);
  }
  const before = readState();
  const fresh = before?.config === config ? before.sources : {};
  const stale = Object.keys(sources).filter((rel) => fresh[rel] !== sources[rel] || !existsSync(join(DIST, outputOf(rel))));
  const gone = Object.keys(before?.sources ?? {}).filter((rel) => !(rel in sources));
  if (stale.length === 0 && gone.length === 0 && before?.config === config) return { emitted: 0, removed: 0 };

  for (const rel of gone) {
    const out = join(DIST, outputOf(rel));
    rmSync(out, { force: true });
    rmSync(out.replace(/\.js$/, '.d.ts'), { force: true });
  }
  if (stale.length > 0) {
    // Loaded only when something is to be emitted: TypeScript takes a second to load.
    const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
    const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    });
    if (!parsed) throw new Error('tsconfig.build.json: cannot be read');
    // Every source is an ES module (package.json "type": "module"), which `module: NodeNext` would
    // learn from package.json; transpileModule sees one file and would emit CommonJS.
    const options = { ...parsed.options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, declaration: false, emitDeclarationOnly: false, noEmit: false, incremental: false };
    for (const rel of stale) {
      const out = join(DIST, outputOf(rel));
      if (rel.endsWith('.js') || rel.endsWith('.wasm')) {
        writeAtomic(out, texts.get(rel)!);
        continue;
      }
      const r = ts.transpileModule(texts.get(rel)! as string, { fileName: join(SRC, rel), compilerOptions: options, reportDiagnostics: true });
      const errors = r.diagnostics ?? [];
      if (errors.length > 0) throw new Error(`src/${rel}: ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, '\n')}`);
      writeAtomic(out, r.outputText);
    }
  }
  writeAtomic(STATE, JSON.stringify({ config, sources } satisfies BuildState));
  return { emitted: stale.length, removed: gone.length };
}

/** Emits the .d.ts types of the whole of src/ into dist/ (`tsc -p tsconfig.build.json`, in a child process). */
export function buildTypes(): Promise<void> {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.build.json: exit ${code}`))));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--js');
  if (unknown.length > 0) {
    process.stderr.write(`build: unknown option ${unknown[0]} (know --js)\n`);
    process.exit(2);
  }
  const started = performance.now();
  // The declarations (tsc, a child process) build while this process emits the JavaScript.
  const types = args.includes('--js') ? undefined : buildTypes();
  const r = buildJs();
  try {
    await types;
  } catch (e) {
    process.stderr.write(`build: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const what = args.includes('--js') ? 'JavaScript' : 'JavaScript and types';
  process.stderr.write(`build: ${what} in ${relative(ROOT, DIST)}/ (${r.emitted} emitted, ${r.removed} removed) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
