/**
 * Which driver a path opens with when better-sqlite3 is not installed: the store is bundled into a
 * folder outside this repository, where `better-sqlite3` does not resolve, and run in a child
 * process. With node:sqlite in the runtime the store works and the file opens through
 * better-sqlite3 afterwards; without it the store says which driver to install.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../../support/paths.js';
import { capture } from '../../support/spawn.js';
import { DatabaseSync } from '../../support/sqlite-drivers.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-driver-choice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = `
import { sqliteStore } from './store.mjs';
const [file] = process.argv.slice(2);
const installed = await import('better-sqlite3').then(() => true, () => false);
const data = { version: 2, entries: [{ type: 'message', id: 'e1', parentId: null, timestamp: '2026-01-01T00:00:00.000Z', message: { role: 'user', content: [] } }], leafId: 'e1', metadata: {} };
try {
	const store = sqliteStore(file);
	await store.save('k', data);
	const loaded = await store.load('k');
	await store.close();
	console.log(JSON.stringify({ installed, ok: JSON.stringify(loaded) === JSON.stringify(data) }));
} catch (error) {
	console.log(JSON.stringify({ installed, code: error.code, message: error.message }));
}
`;

beforeAll(async () => {
	await build({
		entryPoints: [join(root, 'src/backends/sqlite/index.ts')],
		outfile: join(dir, 'store.mjs'),
		bundle: true,
		platform: 'node',
		format: 'esm',
		packages: 'external',
		logLevel: 'error',
	});
	writeFileSync(join(dir, 'run.mjs'), script);
});

describe('sqliteStore(path) without better-sqlite3 installed', () => {
	it(
		DatabaseSync
			? 'opens the file through node:sqlite, and better-sqlite3 reads it afterwards'
			: 'is CONFIG naming both drivers, on a Node without node:sqlite',
		async () => {
			const file = join(dir, 'sessions.db');
			const run = await capture(process.execPath, [join(dir, 'run.mjs'), file], { cwd: dir, env: { ...process.env } });
			expect(run.code, run.stderr).toBe(0);
			const result = JSON.parse(run.stdout.trim()) as { installed: boolean; ok?: boolean; code?: string; message?: string };
			expect(result.installed).toBe(false);
			if (!DatabaseSync) {
				expect(result.code).toBe('CONFIG');
				expect(result.message).toContain('npm install better-sqlite3@12');
				expect(result.message).toContain('node:sqlite');
				return;
			}
			expect(result.ok).toBe(true);
			const db = new Database(file, { readonly: true });
			expect((db.prepare('SELECT id FROM flue_sessions_log').all() as Array<{ id: string }>).map((r) => r.id)).toEqual(['k']);
			db.close();
		},
	);
});
