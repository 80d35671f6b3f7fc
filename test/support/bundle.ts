/**
 * TypeScript entry points bundled into one ESM file for Node, so that a test process starts in a
 * fraction of the time tsx needs to compile the sources. Drivers stay outside the bundle and
 * resolve from the repository's node_modules, so the file goes inside the repository.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';

/** Bundles `entry` into `outfile`; returns `outfile`. */
export async function bundleForNode(entry: string, outfile: string): Promise<string> {
	mkdirSync(dirname(outfile), { recursive: true });
	await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
	return outfile;
}
