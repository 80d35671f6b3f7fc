/**
 * The package surface: the exports map, the backend folders and the README agree; no entry point
 * imports a driver statically; the code that runs inside workerd imports nothing from Node; the
 * README, which ships, links only to what ships or to the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../support/paths.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	files: string[];
	repository?: { type: string; url: string };
	homepage?: string;
	bugs?: { url: string };
	exports: Record<string, string | { types: string; default: string }>;
	peerDependencies: Record<string, string>;
	peerDependenciesMeta: Record<string, { optional?: boolean }>;
	dependencies?: Record<string, string>;
};
const drivers = ['better-sqlite3', 'pg', 'postgres', 'mysql2'];
/** What only the command line and the studio use: a library import must never load them. */
const toolingDependencies = ['commander', 'cli-progress', 'esbuild', 'mysql2'];
/** The tooling's folders; the library's subpaths never reach into them. */
const toolingFolders = ['src/cli/', 'src/tools/', 'src/studio/', 'src/flue2/'].map((f) => join(root, f));
/** This project's repository; every link to it starts here. */
const REPOSITORY = 'https://github.com/flue-persist/flue-persist';

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
	const specifiers = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map(
		(m) => (m[1] ?? m[2])!,
	);
	seen.set(
		file,
		specifiers.filter((s) => !s.startsWith('.')),
	);
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

	it('keeps the library apart from the tooling: no entry point reaches the CLI, the studio or their dependencies', () => {
		for (const [key, file] of entryFiles()) {
			const graph = importGraph(file);
			expect(graph.size, `${key}: the import graph was read`).toBeGreaterThan(0);
			for (const [from, bare] of graph) {
				expect(
					toolingFolders.some((folder) => from.startsWith(folder)),
					`${key} reaches ${from}`,
				).toBe(false);
				for (const d of toolingDependencies) expect(bare.includes(d), `${key}: ${from} imports ${d}`).toBe(false);
			}
		}
	});

	it('keeps the Cloudflare entry points free of Node imports (they run inside workerd)', () => {
		for (const key of ['./d1', './durable-object']) {
			const file = entryFiles().find(([k]) => k === key)![1];
			for (const [from, bare] of importGraph(file)) {
				expect(
					bare.filter((s) => s.startsWith('node:') || ['fs', 'path', 'crypto', 'os'].includes(s)),
					`${key}: ${from}`,
				).toEqual([]);
			}
		}
	});

	it('names the repository, its home page and where to file bugs, all on one repository URL', () => {
		expect(pkg.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git` });
		expect(pkg.homepage).toBe(`${REPOSITORY}#readme`);
		expect(pkg.bugs).toEqual({ url: `${REPOSITORY}/issues` });
	});

	it('links from the README to shipped files, or to files of the repository that exist', () => {
		const readme = readFileSync(join(root, 'README.md'), 'utf8');
		const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
		expect(links.length).toBeGreaterThan(10);
		// npm always ships package.json, README and LICENSE; the rest is what `files` names.
		const shipped = (path: string) => ['package.json', 'README.md', 'LICENSE'].includes(path) || pkg.files.some((f) => path === f || path.startsWith(`${f}/`));
		for (const href of links) {
			if (href.startsWith('#')) continue;
			const ours = href.match(
				/^https:\/\/(?:github\.com\/flue-persist\/flue-persist\/(?:blob|tree)\/main|raw\.githubusercontent\.com\/flue-persist\/flue-persist\/main)\/([^#?]+)/,
			);
			if (ours) {
				expect(existsSync(join(root, ours[1]!)), `${href}: no such file in the repository`).toBe(true);
				continue;
			}
			if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
				// Any other absolute link is to someone else's site, never to another copy of this repository.
				expect(href, href).not.toMatch(/github\.com\/(?!flue-persist\/flue-persist\b)[^/]+\/flue-persist\b/);
				continue;
			}
			const path = href.split('#')[0]!.replace(/^\.\//, '').replace(/\/$/, '');
			expect(shipped(path), `README links to ${href}, which the package does not ship: link to ${REPOSITORY}/blob/main/${path} instead`).toBe(true);
			expect(existsSync(join(root, path)), href).toBe(true);
		}
	});
});
