/**
 * The commands without better-sqlite3. A Flue 2 app keeps its conversations through node:sqlite
 * and often has no better-sqlite3 installed; the commands then open SQLite files with node:sqlite.
 * Here the real `flue-persist` command runs in a process of its own on a Node that has
 * node:sqlite, with better-sqlite3 made unresolvable (test/support/hide-modules.mjs), and must
 * print and write what it does with better-sqlite3 (the in-process runs of this test's Node).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { runSessionCli } from '../support/cli.js';
import { root, tsxLoader } from '../support/paths.js';
import { capture } from '../support/spawn.js';
import { emptySqliteFile, type Flue2Fixture, flue2Node, instanceChecksums, sqliteFixture } from './support.js';

interface Setup {
	node: string;
	source: Flue2Fixture;
	/** An empty Flue 2 SQLite file, its tables made by sqlite(). */
	emptySqlite: string;
	work: string;
}
let setup: Setup | { reason: string };

beforeAll(async () => {
	const node = await flue2Node();
	if (!node.ok) return void (setup = { reason: node.reason });
	const made = await sqliteFixture();
	if (!made.ok) return void (setup = { reason: made.reason });
	const work = mkdtempSync(join(tmpdir(), 'flue2-node-sqlite-'));
	setup = { node: node.value, source: made.value, emptySqlite: await emptySqliteFile(node.value, work), work };
}, 240_000);

function need(ctx: { skip(note?: string): never }): Setup {
	if ('reason' in setup) ctx.skip(setup.reason);
	return setup as Setup;
}

/** The command on `node`, with the packages in `hide` unresolvable, as a user without them runs it. */
async function cliWithout(node: string, hide: string[], argv: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
	const loader = (file: string) => pathToFileURL(join(root, file)).href;
	const run = await capture(
		node,
		['--import', tsxLoader, '--import', loader('test/support/hide-modules-register.mjs'), join(root, 'src/cli/main.ts'), ...argv],
		{ cwd, env: { ...process.env, NODE_OPTIONS: '', FLUE_PERSIST_TEST_HIDE: hide.join(',') } },
	);
	return { code: run.code, out: run.stdout, err: run.stderr };
}

/** Each file of a folder with a hash of its bytes: what a read must leave exactly as it was. */
function folderState(dir: string): Record<string, string> {
	return Object.fromEntries(
		readdirSync(dir)
			.sort()
			.map((name) => [
				name,
				createHash('sha256')
					.update(readFileSync(join(dir, name)))
					.digest('hex'),
			]),
	);
}

/** An export's lines without the header's time of export. */
function exportBody(text: string): string[] {
	const [header, ...rest] = text.trimEnd().split('\n');
	const parsed = JSON.parse(header!) as Record<string, unknown>;
	delete parsed.exportedAt;
	return [JSON.stringify(parsed), ...rest];
}

describe('the commands on a Flue 2 SQLite file, with node:sqlite and no better-sqlite3', () => {
	it('ls, show, export and doctor print what they print with better-sqlite3, and change no file', async (ctx) => {
		const s = need(ctx);
		const dir = join(s.work, 'read');
		mkdirSync(dir);
		copyFileSync(s.source.url.slice('sqlite:'.length), join(dir, 'flue.db'));
		const before = folderState(dir);
		for (const argv of [
			['ls', 'sqlite:flue.db'],
			['ls', 'sqlite:flue.db', '--json'],
			['show', 'sqlite:flue.db', 'alpha', '--width', '100000'],
			['show', 'sqlite:flue.db', 'beta', '--json'],
			['doctor', 'sqlite:flue.db'],
		]) {
			const expected = await runSessionCli(argv, dir);
			const got = await cliWithout(s.node, ['better-sqlite3'], argv, dir);
			expect(got.err, argv.join(' ')).toBe(expected.err);
			expect(got.out, argv.join(' ')).toBe(expected.out);
			expect(got.code, argv.join(' ')).toBe(expected.code);
			expect(got.code, argv.join(' ')).toBe(0);
		}
		const expected = await runSessionCli(['export', 'sqlite:flue.db'], dir);
		const got = await cliWithout(s.node, ['better-sqlite3'], ['export', 'sqlite:flue.db'], dir);
		expect(got.code).toBe(0);
		expect(exportBody(got.out)).toEqual(exportBody(expected.out));
		// The header, the three instances and the end line.
		expect(exportBody(got.out)).toHaveLength(5);
		expect(exportBody(got.out).at(-1)).toBe('{"end":true,"instances":3}');
		// The file is in WAL mode with no -wal beside it: a plain read-only open would add -wal and -shm.
		expect(folderState(dir)).toEqual(before);
	});

	it('copy writes every instance whole into an empty Flue 2 file', async (ctx) => {
		const s = need(ctx);
		const dir = join(s.work, 'copy');
		mkdirSync(dir);
		copyFileSync(s.emptySqlite, join(dir, 'target.db'));
		const run = await cliWithout(s.node, ['better-sqlite3'], ['copy', s.source.url, 'sqlite:target.db'], dir);
		expect(run.err).toContain('3 instances written, 0 already there');
		expect(run.code).toBe(0);
		expect(await instanceChecksums(`sqlite:${join(dir, 'target.db')}`)).toEqual(await instanceChecksums(s.source.url));
	});
});

describe('the commands on a flue-persist SQLite store, with node:sqlite and no better-sqlite3', () => {
	it('ls, show and doctor read it, export and import move it, and the output matches better-sqlite3', async (ctx) => {
		const s = need(ctx);
		const dir = join(s.work, 'store');
		mkdirSync(dir);
		const store = sqliteStore(join(dir, 'sessions.db'));
		for (const id of ['one', 'two']) {
			await store.save(id, {
				version: 2,
				entries: [
					{ type: 'message', id: `${id}-1`, parentId: null, timestamp: '2026-12-01T10:00:00.000Z', message: { role: 'user', content: `hello from ${id}` } },
					{ type: 'message', id: `${id}-2`, parentId: `${id}-1`, timestamp: '2026-12-01T10:00:01.000Z', message: { role: 'assistant', content: 'hi' } },
				],
				leafId: `${id}-2`,
				metadata: { topic: id },
				createdAt: '2026-12-01T10:00:00.000Z',
				updatedAt: '2026-12-01T10:00:01.000Z',
			});
		}
		await store.close();
		for (const argv of [
			['ls', 'sqlite:sessions.db'],
			['show', 'sqlite:sessions.db', 'two'],
			['doctor', 'sqlite:sessions.db'],
		]) {
			const expected = await runSessionCli(argv, dir);
			const got = await cliWithout(s.node, ['better-sqlite3'], argv, dir);
			expect(got.out, argv.join(' ')).toBe(expected.out);
			expect(got.code, argv.join(' ')).toBe(0);
		}
		const exported = await cliWithout(s.node, ['better-sqlite3'], ['export', 'sqlite:sessions.db', '--output', 'all.jsonl'], dir);
		expect(exported.code).toBe(0);
		const imported = await cliWithout(s.node, ['better-sqlite3'], ['import', 'sqlite:copy.db', 'all.jsonl'], dir);
		expect(imported.err).toContain('2 sessions');
		expect(imported.code).toBe(0);
		// Read back with better-sqlite3: the file node:sqlite wrote is the same SQLite format.
		const copy = sqliteStore(join(dir, 'copy.db'), { driver: 'better-sqlite3' });
		const original = sqliteStore(join(dir, 'sessions.db'), { driver: 'better-sqlite3', readOnly: true });
		for (const id of ['one', 'two']) expect(await copy.load(id)).toEqual(await original.load(id));
		await copy.close();
		await original.close();
	});

	it('without either driver, says what to install, and an import creates no file', async (ctx) => {
		const s = need(ctx);
		const dir = join(s.work, 'none');
		mkdirSync(dir);
		const store = sqliteStore(join(dir, 'sessions.db'));
		await store.save('one', {
			version: 2,
			entries: [{ type: 'message', id: 'm1', parentId: null, timestamp: '2026-12-01T10:00:00.000Z', message: { role: 'user', content: 'hello' } }],
			leafId: 'm1',
			metadata: {},
			createdAt: '2026-12-01T10:00:00.000Z',
			updatedAt: '2026-12-01T10:00:00.000Z',
		});
		await store.close();
		expect((await runSessionCli(['export', 'sqlite:sessions.db', '--output', 'one.jsonl'], dir)).code).toBe(0);
		const before = folderState(dir);
		// The target is the only SQLite file the import opens: it must not appear.
		const run = await cliWithout(s.node, ['better-sqlite3', 'node:sqlite'], ['import', 'sqlite:new.db', 'one.jsonl'], dir);
		expect(run.err).toContain('sqlite:new.db: no SQLite driver is available: better-sqlite3 is not installed');
		expect(run.err).toContain('npm install better-sqlite3@12');
		expect(run.err).not.toContain('[flue-persist] [sqlite]');
		expect(run.code).not.toBe(0);
		expect(folderState(dir)).toEqual(before);
		const read = await cliWithout(s.node, ['better-sqlite3', 'node:sqlite'], ['ls', 'sqlite:sessions.db'], dir);
		expect(read.err).toContain('sqlite:sessions.db: no SQLite driver is available');
		expect(read.code).not.toBe(0);
		expect(folderState(dir)).toEqual(before);
	});
});
