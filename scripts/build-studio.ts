/**
 * Bundles the studio's page script (src/studio/client) into dist/studio/client.js, the file the
 * installed package serves. Run by `npm run build`, after the client sources are type-checked.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CLIENT_BUILD_OPTIONS, CLIENT_ENTRY } from '../src/studio/client-bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({ ...CLIENT_BUILD_OPTIONS, entryPoints: [CLIENT_ENTRY], outfile: join(root, 'dist', 'studio', 'client.js'), minify: true });
