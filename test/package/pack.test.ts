/**
 * The package as users get it: built, packed into a tarball, installed into a scratch project
 * outside the repository, and run through `npx flue-persist`. Nothing here reads the source
 * tree at run time, so a file missing from the tarball, a broken bin entry or an exports map that
 * does not match the build fails here.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractStoreFile } from '../../src/cli/connector-format.js';
import { CONNECTOR_INDEX } from '../../src/cli/connector-index.generated.js';
import { root } from '../support/paths.js';
import { capture } from '../support/spawn.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const work = mkdtempSync(join(tmpdir(), 'flue-persist-pack-'));
const project = join(work, 'project');

/** The environment of a user's shell: no coding agent, no registry, nothing of the npm script running this test. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (
			/^(npm_package_|npm_lifecycle_|INIT_CWD$|FLUE_PERSIST_REGISTRY$|AI_AGENT$|CLAUDE|CURSOR_|CODEX_|GEMINI_CLI$|OPENCODE|COPILOT_|REPL_ID$|AUGMENT_AGENT$|ANTIGRAVITY_AGENT$)/.test(
				key,
			)
		)
			continue;
		env[key] = value;
	}
	return { ...env, ...extra };
}

function fluePersist(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
	// --no: use the installed bin, never download one.
	return capture(npx, ['--no', 'flue-persist', ...args], { cwd: project, env: userEnv() });
}

/** A file left in dist by an earlier build of a module that no longer exists. */
const STALE = 'dist/removed-module.js';
let tarball: string;

beforeAll(async () => {
	// A stale index would be rewritten by the build and hide the failure of the index test.
	await run(join(root, 'node_modules/.bin/tsx'), ['scripts/build-connectors.ts', '--check'], { cwd: root });
	// No explicit build: `npm pack` must build from clean by itself (prepack), dropping what an
	// earlier build left in dist.
	mkdirSync(join(root, 'dist'), { recursive: true });
	writeFileSync(join(root, STALE), 'export const stale = true;\n');
	const packed = await run(npm, ['pack', '--pack-destination', work, '--silent'], { cwd: root, env: userEnv() });
	tarball = join(work, packed.stdout.trim().split('\n').pop()!);
	mkdirSync(project);
	writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch-flue-app', private: true, type: 'module' }, null, 2));
	await run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, env: userEnv() });
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
	return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

const body = (slug: string) => CONNECTOR_INDEX.connectors.find((c) => c.slug === slug)!.body;

describe('the packed tarball, installed into a scratch project', () => {
	it('ships the connectors, the built CLI and the library entry points', () => {
		const installed = join(project, 'node_modules/flue-persist');
		expect(readdirSync(join(installed, 'connectors')).sort()).toEqual(
			CONNECTOR_INDEX.connectors
				.map((c) => c.file)
				.concat('persist.md')
				.sort(),
		);
		expect(readFileSync(join(installed, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
		expect(readdirSync(join(project, 'node_modules/.bin'))).toContain('flue-persist');
	});

	it("ships the studio's page script, bundled, and serves that file rather than any source", async () => {
		const installed = join(project, 'node_modules/flue-persist');
		const bundle = readFileSync(join(installed, 'dist/studio/client.js'), 'utf8');
		expect(bundle.length).toBeGreaterThan(1000);
		expect(bundle).not.toMatch(/^import |\bimport\(/m);
		expect(readdirSync(join(installed, 'dist/studio'))).not.toContain('client');
		const served = await capture(
			process.execPath,
			[
				'--input-type=module',
				'-e',
				"const { clientScript } = await import('./node_modules/flue-persist/dist/studio/client-bundle.js'); process.stdout.write(await clientScript());",
			],
			{ cwd: project, env: userEnv() },
		);
		expect(served.stderr).toBe('');
		expect(served.stdout).toBe(bundle);
	});

	it('`npx flue-persist add` lists the connectors on stderr and exits 0', async () => {
		const out = await fluePersist(['add']);
		expect(out.code).toBe(0);
		expect(out.stdout).toBe('');
		expect(out.stderr.startsWith('flue-persist add <name>\n\nAvailable connectors:\n')).toBe(true);
		for (const c of CONNECTOR_INDEX.connectors) expect(out.stderr).toContain(`flue-persist add ${c.slug} `);
	});

	it('`npx flue-persist add postgres --print` prints the bundled Markdown to stdout', async () => {
		const out = await fluePersist(['add', 'postgres', '--print']);
		expect(out.code).toBe(0);
		expect(out.stdout).toBe(body('postgres'));
		expect(out.stderr).toBe('');
	});

	it('`npx flue-persist add <url> --category persist --print` prints the category root with the URL filled in', async () => {
		const url = 'https://docs.turso.tech/sdk/ts/quickstart';
		const out = await fluePersist(['add', url, '--category', 'persist', '--print']);
		expect(out.code).toBe(0);
		expect(out.stdout).toBe(CONNECTOR_INDEX.categoryRoots[0]!.body.replaceAll('{{URL}}', url));
	});

	it('`npx flue-persist add sqlite --write` writes the store file, is idempotent, and refuses to clobber an edit', async () => {
		const file = join(project, '.flue/persist/sqlite.ts');
		const written = await fluePersist(['add', 'sqlite', '--write']);
		expect(written.code).toBe(0);
		expect(written.stdout).toContain('Wrote .flue/persist/sqlite.ts\n');
		expect(written.stdout).toContain('  npm install flue-persist better-sqlite3@12\n');
		expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(root, 'examples/hello-world/.flue/persist/sqlite.ts'), 'utf8'));

		const again = await fluePersist(['add', 'sqlite', '--write']);
		expect(again.code).toBe(0);
		expect(again.stdout).toContain('is up to date');

		writeFileSync(file, `${readFileSync(file, 'utf8')}// edited\n`);
		const refused = await fluePersist(['add', 'sqlite', '--write']);
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain('--force');
		expect(readFileSync(file, 'utf8').endsWith('// edited\n')).toBe(true);
		expect((await fluePersist(['add', 'sqlite', '--write', '--force'])).code).toBe(0);
	});

	it('an unknown connector exits 1 and a usage error exits 2', async () => {
		expect((await fluePersist(['add', 'cassandra'])).code).toBe(1);
		expect((await fluePersist(['add', '--nope'])).code).toBe(2);
	});

	it("the store files --write puts in a project type-check against the installed package's exports and types", async () => {
		for (const slug of ['d1', 'durable-object']) expect((await fluePersist(['add', slug, '--write'])).code).toBe(0);
		for (const slug of ['sqlite', 'd1', 'durable-object']) {
			expect(readFileSync(join(project, `.flue/persist/${slug}.ts`), 'utf8')).toBe(extractStoreFile(body(slug), slug).content);
		}
		// Postgres imports `pg`, which this offline scratch project does not install.
		writeFileSync(
			join(project, 'tsconfig.json'),
			JSON.stringify({
				compilerOptions: {
					module: 'NodeNext',
					moduleResolution: 'NodeNext',
					target: 'ES2022',
					strict: true,
					noEmit: true,
					skipLibCheck: true,
					types: ['node'],
					typeRoots: [join(root, 'node_modules/@types')],
				},
				files: ['.flue/persist/sqlite.ts', '.flue/persist/d1.ts', '.flue/persist/durable-object.ts'],
			}),
		);
		const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project }).then(
			() => ({ code: 0, stdout: '' }),
			(error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
		);
		expect(tsc.stdout).toBe('');
		expect(tsc.code).toBe(0);
	});
});

describe('what the tarball ships', () => {
	const installed = () => join(project, 'node_modules/flue-persist');

	it('is built from clean: a file an earlier build left in dist does not ship', async () => {
		const listing = (await run('tar', ['-tzf', tarball])).stdout.split('\n');
		expect(listing).toContain('package/dist/index.js');
		expect(listing).not.toContain(`package/${STALE}`);
		expect(existsSync(join(installed(), STALE))).toBe(false);
	});

	it('has no source map and no sourceMappingURL naming a file that does not ship', () => {
		const files = filesUnder(installed());
		expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
		for (const f of files.filter((x) => /\.(js|d\.ts)$/.test(x))) {
			expect(readFileSync(join(installed(), f), 'utf8'), f).not.toMatch(/^\/\/# sourceMappingURL=/m);
		}
	});

	it('points every relative link of the shipped README at a shipped file', () => {
		const readme = readFileSync(join(installed(), 'README.md'), 'utf8');
		const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('#'));
		for (const href of links) {
			const target = resolve(installed(), href.split('#')[0]!);
			expect(relative(installed(), target).startsWith('..'), href).toBe(false);
			expect(existsSync(target), `README links to ${href}, which the package does not ship`).toBe(true);
		}
	});

	it('the conformance suite, installed, reports failures with stack frames in shipped files', async () => {
		// A store that keeps no order and throws no CONFLICT, run by a runner of a few lines.
		writeFileSync(
			join(project, 'conformance-check.mjs'),
			`import { runConformance } from 'flue-persist/conformance';
const rows = new Map();
const store = { save: async (id, d) => void rows.set(id, JSON.stringify(d)), load: async (id) => (rows.has(id) ? JSON.parse(rows.get(id)) : null), delete: async (id) => void rows.delete(id) };
const cases = [];
const expect = (actual) => ({ toEqual(expected) { if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error('not deep-equal'); } });
runConformance({ name: 'map', create: async () => store }, { describe: (_name, fn) => fn(), it: (name, fn) => cases.push([name, fn]), expect }, { only: ['concurrency'] });
const failures = [];
for (const [name, fn] of cases) { try { await fn(); } catch (error) { failures.push({ name, message: error.message, stack: error.stack }); } }
console.log(JSON.stringify(failures));
`,
		);
		for (const flags of [[], ['--enable-source-maps']]) {
			const out = await run(process.execPath, [...flags, 'conformance-check.mjs'], { cwd: project });
			const failures = JSON.parse(out.stdout) as Array<{ name: string; message: string; stack: string }>;
			expect(failures.map((f) => f.name)).toContain(
				'a save from a stale snapshot (a second session object saved first) fails with CONFLICT and changes nothing',
			);
			for (const f of failures) {
				expect(f.message, f.name).toMatch(/ must /);
				const frames = [...f.stack.matchAll(/(?:file:\/\/)?(\/[^\s()]*?\/node_modules\/flue-persist\/[^\s():]+)/g)].map((m) => m[1]!);
				expect(
					frames.some((file) => /\/dist\/conformance\/[a-z-]+\.js$/.test(file)),
					`${flags.join(' ')}\n${f.stack}`,
				).toBe(true);
				for (const file of frames) expect(existsSync(file), `${flags.join(' ')}: ${file}`).toBe(true);
			}
		}
	});
});
