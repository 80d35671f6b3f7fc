/**
 * The page's script. `npm run build` type-checks src/studio/client and bundles it into
 * dist/studio/client.js (scripts/build-studio.ts), which the installed package serves as it is.
 * Run from source (`npm run cli -- studio`, the tests), there is no bundle: the same sources are
 * bundled in memory with esbuild, a development dependency, the first time the page asks.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

/** The entry point of the client sources. */
export const CLIENT_ENTRY = fileURLToPath(new URL('./client/main.ts', import.meta.url));

/** The bundle, next to this module once built. */
const BUNDLE = new URL('./client.js', import.meta.url);

/** esbuild options shared by the build and by bundling from source. */
export const CLIENT_BUILD_OPTIONS = { bundle: true, format: 'iife', target: 'es2020', platform: 'browser', charset: 'utf8', legalComments: 'none' } as const;

let loading: Promise<string> | null = null;

/** The script's text, read (or bundled) once per process. */
export function clientScript(): Promise<string> {
	loading ??= loadScript().catch((error: unknown) => {
		loading = null;
		throw error;
	});
	return loading;
}

async function loadScript(): Promise<string> {
	try {
		return await readFile(BUNDLE, 'utf8');
	} catch (error) {
		if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
	}
	if (!import.meta.url.endsWith('.ts')) {
		throw new ConfigError(`the studio's page script is missing from this installation (${fileURLToPath(BUNDLE)}); reinstall flue-persist`);
	}
	const esbuild = await import('esbuild');
	const result = await esbuild.build({ ...CLIENT_BUILD_OPTIONS, entryPoints: [CLIENT_ENTRY], write: false });
	return result.outputFiles[0]!.text;
}
