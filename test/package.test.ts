/**
 * The package surface: the exports map, the backend folders and the README agree; no entry point
 * imports a driver statically; the code that runs inside workerd imports nothing from Node.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	exports: Record<string, string | { types: string; default: string }>;
	peerDependencies: Record<string, string>;
	peerDependenciesMeta: Record<string, { optional?: boolean }>;
	dependencies?: Record<string, string>;
};
const drivers = ['better-sqlite3', 'pg', 'postgres'];

/** `./dist/x/index.js` → `src/x/index.ts` */
const sourceOf = (distPath: string) => join(root, distPath.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));

function entryFiles(): Array<[string, string]> {
	return Object.entries(pkg.exports)
		.filter(([key]) => key !== './package.json')
		.map(([key, value]) => [key, sourceOf(typeof value === 'string' ? value : value.default)]);
}

/** Every file reachable from `file` through relative static imports, with the bare specifiers they import. */
function importGraph(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
	if (seen.has(file)) return seen;
	const text = readFileSync(file, 'utf8');
	const specifiers = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => (m[1] ?? m[2])!);
	seen.set(file, specifiers.filter((s) => !s.startsWith('.')));
	for (const s of specifiers.filter((x) => x.startsWith('.'))) importGraph(resolve(dirname(file), s.replace(/\.js$/, '.ts')), seen);
	return seen;
}

describe('package surface', () => {
	it('has one export per backend folder, plus the root, the conformance suite and package.json', () => {
		const backends = readdirSync(join(root, 'src/backends'), { withFileTypes: true })
			.filter((d) => d.isDirectory())
			.map((d) => `./${d.name}`);
		expect(Object.keys(pkg.exports).sort()).toEqual(['.', './conformance', './package.json', ...backends].sort());
	});

	it('points every export at a source file that exists, with types beside it', () => {
		for (const [key, file] of entryFiles()) {
			expect(existsSync(file), `${key} → ${file}`).toBe(true);
			const value = pkg.exports[key] as { types: string; default: string };
			expect(value.types).toBe(value.default.replace(/\.js$/, '.d.ts'));
		}
	});

	it('names every subpath in the README', () => {
		const readme = readFileSync(join(root, 'README.md'), 'utf8');
		for (const key of Object.keys(pkg.exports).filter((k) => k !== './package.json' && k !== '.')) {
			expect(readme).toContain(`flue-persist/${key.slice(2)}`);
		}
	});

	it('declares the drivers as optional peer dependencies, never as dependencies', () => {
		for (const d of drivers) {
			expect(pkg.peerDependencies[d]).toBeTruthy();
			expect(pkg.peerDependenciesMeta[d]?.optional).toBe(true);
			expect(pkg.dependencies?.[d]).toBeUndefined();
		}
	});

	it('imports no driver statically from any entry point', () => {
		for (const [key, file] of entryFiles()) {
			for (const [from, bare] of importGraph(file)) {
				for (const d of drivers) expect(bare.includes(d), `${key}: ${from} imports ${d}`).toBe(false);
			}
		}
	});

	it('keeps the Cloudflare entry points free of Node imports (they run inside workerd)', () => {
		for (const key of ['./d1', './durable-object']) {
			const file = entryFiles().find(([k]) => k === key)![1];
			for (const [from, bare] of importGraph(file)) {
				expect(bare.filter((s) => s.startsWith('node:') || ['fs', 'path', 'crypto', 'os'].includes(s)), `${key}: ${from}`).toEqual([]);
			}
		}
	});
});
