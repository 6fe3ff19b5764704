/**
 * @module writeDocSection: replaces one `## ` section of a Markdown page (from its heading up to
 * the next `## ` heading, or the end) or appends it when absent, leaving the rest of the page as it
 * was. The S3 benchmark owns only its section of docs/BENCHMARKS.md, which the main benchmark's
 * own run rewrites around it.
 */
import { readFile, writeFile } from 'node:fs/promises';

/**
 * The section `## <heading>` of a page (heading included, up to the next `## ` heading), or
 * undefined. For a writer that regenerates the rest of the page and must carry this section over.
 */
export function docSection(page: string, heading: string): string | undefined {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) return undefined;
  const rel = lines.slice(start + 1).findIndex((l) => l.startsWith('## '));
  return `${lines.slice(start, rel < 0 ? lines.length : start + 1 + rel).join('\n').trim()}\n`;
}

/** Writes `## <heading>` followed by `body` into the page at `path`. */
export async function writeDocSection(path: string, heading: string, body: string): Promise<void> {
  const page = await readFile(path, 'utf8');
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const lines = page.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  let text: string;
  if (start < 0) {
    text = `${page.replace(/\n*$/, '')}\n\n${section}`;
  } else {
    const rel = lines.slice(start + 1).findIndex((l) => l.startsWith('## '));
    const end = rel < 0 ? lines.length : start + 1 + rel;
    const after = lines.slice(end).join('\n');
    text = `${lines.slice(0, start).join('\n').replace(/\n*$/, '')}\n\n${section}${after ? `\n${after}` : ''}`;
  }
  await writeFile(path, text.endsWith('\n') ? text : `${text}\n`);
}
