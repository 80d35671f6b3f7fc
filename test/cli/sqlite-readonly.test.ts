import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { runSessionCli } from '../support/cli.js';
import { fileDigest } from '../support/files.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-tools-ro-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const listing = (folder: string) => readdirSync(folder).sort();

describe('read-only commands on a SQLite file', () => {
	const commands = (file: string, id: string) => [
		['ls', `sqlite:${file}`],
		['show', `sqlite:${file}`, id],
		['export', `sqlite:${file}`, '-o', '-'],
		['doctor', `sqlite:${file}`],
		['prune', `sqlite:${file}`, '--older-than', '1d', '--dry-run'],
	];

	it('leave a file written by the store, in WAL mode, with no -wal or -shm file and unchanged', async () => {
		const folder = join(dir, `store-${n++}`);
		const file = join(folder, 'sessions.db');
		const store = sqliteStore(file);
		await store.save('a', conversation(2));
		await store.close();
		const before = { files: listing(folder), digest: fileDigest(file) };
		expect(before.files).toEqual(['sessions.db']);
		for (const argv of commands(file, 'a')) {
			const result = await runSessionCli(argv, folder);
			expect(result.code, `${argv.join(' ')}: ${result.err}`).toBe(0);
			expect(listing(folder), argv.join(' ')).toEqual(before.files);
			expect(fileDigest(file), argv.join(' ')).toBe(before.digest);
		}
	});

	it("leave a file Flue wrote (its blob table only) without the store's bookkeeping tables", async () => {
		const folder = join(dir, `flue-${n++}`);
		const file = join(folder, 'flue.db');
		const { mkdirSync } = await import('node:fs');
		mkdirSync(folder);
		const db = new Database(file);
		db.exec('CREATE TABLE flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		db.prepare('INSERT INTO flue_sessions VALUES (?, ?, ?)').run('a', JSON.stringify(conversation(1)), Date.now());
		db.close();
		const before = { files: listing(folder), digest: fileDigest(file) };
		for (const argv of commands(file, 'a')) {
			const result = await runSessionCli(argv, folder);
			expect(result.code, `${argv.join(' ')}: ${result.err}`).toBe(0);
			expect(listing(folder), argv.join(' ')).toEqual(before.files);
			expect(fileDigest(file), argv.join(' ')).toBe(before.digest);
		}
	});
});
