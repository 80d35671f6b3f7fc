/**
 * A scratch app folder whose `flue-persist` is this repository's source: `node_modules/flue-persist`
 * with the package's subpath exports pointing at `src/`, so a bundler or Node resolves the package
 * name as in a user's app, without a build of `dist/` (which only `npm run build` makes).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './paths.js';

export function linkSourcePackage(dir: string, appName: string, dependencies: Record<string, string> = {}): void {
	const pkg = join(dir, 'node_modules', 'flue-persist');
	mkdirSync(pkg, { recursive: true });
	symlinkSync(join(root, 'src'), join(pkg, 'src'));
	const backends = ['postgres', 'sqlite', 'd1', 'durable-object'];
	const exports = Object.fromEntries([
		['.', './src/index.ts'],
		['./conformance', './src/conformance/index.ts'],
		...backends.map((b) => [`./${b}`, `./src/backends/${b}/index.ts`]),
	]);
	writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'flue-persist', type: 'module', exports }));
	// An app of its own: without it, `flue-persist` would resolve to this repository itself (its dist/).
	writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: appName, private: true, type: 'module', dependencies }));
}
