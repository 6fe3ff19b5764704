/**
 * @module Opens the ObjectStore a repository URL names: a path or `file://…` (a directory) and
 * `memory://` (tests). Other schemes (`s3://`, `http(s)://`) are registered by their subpath
 * modules, so the core never loads their dependencies; `s3://` loads its module on first use.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngramError } from '../errors/index.ts';
import { FsStore } from './fs-store.ts';
import { MemoryStore } from './memory-store.ts';
import type { ObjectStore } from './object-store.ts';

/** Opens stores for one URL scheme. */
export type StoreOpener = (url: string) => Promise<ObjectStore>;

const openers = new Map<string, StoreOpener>();

/**
 * Subpath modules that register a scheme when imported. They are loaded with a dynamic import, only
 * when such a URL is opened, so the core's static import graph stays free of their dependencies
 * (the AWS SDK costs ~100 ms and many MB to load).
 */
const lazySchemes: Readonly<Record<string, () => Promise<unknown>>> = {
  's3:': () => import('./s3/index.ts'),
};

/** Lets a subpath module (e.g. `engram/s3`) handle a URL scheme such as `s3:`. */
export function registerStoreScheme(scheme: string, opener: StoreOpener): void {
  openers.set(scheme, opener);
}

/** Opens the store for a repository path or URL. */
export async function openStore(location: string): Promise<ObjectStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FsStore(resolve(location));
  if (scheme === 'file') return new FsStore(fileURLToPath(location));
  if (scheme === 'memory') return new MemoryStore();
  if (!openers.has(`${scheme}:`)) await lazySchemes[`${scheme}:`]?.();
  const opener = openers.get(`${scheme}:`);
  if (opener) return opener(location);
  throw new EngramError('Unsupported', `no store for ${scheme}:// URLs in this build; import its module (for example engram/${scheme}) first`, { location });
}
