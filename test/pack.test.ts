/**
 * The package as users get it: built, packed into a tarball, installed into a scratch project
 * outside the repository, and run through `npx flue-persist`. Nothing here reads the source
 * tree at run time, so a file missing from the tarball, a broken bin entry or an exports map that
 * does not match the build fails here.
 */
import { execFile } from 'node:child_process';
import { capture } from './support/spawn.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractStoreFile } from '../src/cli/connector-format.js';
import { CONNECTOR_INDEX } from '../src/cli/connector-index.generated.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const work = mkdtempSync(join(tmpdir(), 'flue-persist-pack-'));
const project = join(work, 'project');

/** The environment of a user's shell: no coding agent, no registry, nothing of the npm script running this test. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^(npm_package_|npm_lifecycle_|INIT_CWD$|FLUE_PERSIST_REGISTRY$|AI_AGENT$|CLAUDE|CURSOR_|CODEX_|GEMINI_CLI$|OPENCODE|COPILOT_|REPL_ID$|AUGMENT_AGENT$|ANTIGRAVITY_AGENT$)/.test(key)) continue;
		env[key] = value;
	}
	return { ...env, ...extra };
}

function fluePersist(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
	// --no: use the installed bin, never download one.
	return capture(npx, ['--no', 'flue-persist', ...args], { cwd: project, env: userEnv() });
}

beforeAll(async () => {
	// A stale index would be rewritten by the build and hide the failure of the index test.
	await run(join(root, 'node_modules/.bin/tsx'), ['scripts/build-connectors.ts', '--check'], { cwd: root });
	await run(npm, ['run', 'build'], { cwd: root, env: userEnv() });
	const packed = await run(npm, ['pack', '--pack-destination', work, '--silent'], { cwd: root, env: userEnv() });
	const tarball = join(work, packed.stdout.trim().split('\n').pop()!);
	mkdirSync(project);
	writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch-flue-app', private: true, type: 'module' }, null, 2));
	await run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, env: userEnv() });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const body = (slug: string) => CONNECTOR_INDEX.connectors.find((c) => c.slug === slug)!.body;

describe('the packed tarball, installed into a scratch project', () => {
	it('ships the connectors, the built CLI and the library entry points', () => {
		const installed = join(project, 'node_modules/flue-persist');
		expect(readdirSync(join(installed, 'connectors')).sort()).toEqual(CONNECTOR_INDEX.connectors.map((c) => c.file).concat('persist.md').sort());
		expect(readFileSync(join(installed, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
		expect(readdirSync(join(project, 'node_modules/.bin'))).toContain('flue-persist');
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
				compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
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
