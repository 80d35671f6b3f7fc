/**
 * 1,000 generated sessions copied SQLite → Postgres → D1 (a real D1 inside workerd) → SQLite end
 * identical to the source by checksum, through the layouts that reorder or split them: Postgres
 * blob (jsonb keeps no key order) and D1 log with values split at the Cloudflare row limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, emptySession, filler, messageEntry } from '../../src/conformance/fixtures.js';
import { sessionChecksum } from '../../src/tools/export-format.js';
import { openStore } from '../../src/tools/open-store.js';
import { copySessions, listIds } from '../../src/tools/transfer.js';
import type { FluePersistStore, SessionData } from '../../src/types.js';
import { runSessionCli } from '../support/cli.js';
import { bundleWorker, RemoteStore, startMiniflare, workerOptions } from '../support/cloudflare.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-roundtrip-'));
const admin = makePool(undefined, 2);
const schema = uniqueSchema('roundtrip');
afterAll(async () => {
	await dropSchema(admin, schema);
	await admin.end();
	rmSync(dir, { recursive: true, force: true });
});

const cli = (argv: string[]) => runSessionCli(argv, dir);

/** A small deterministic generator, so a failure names the same session on every run. */
function random(seed: number): () => number {
	let x = seed >>> 0;
	return () => {
		x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
		return x / 2 ** 32;
	};
}

/** Sessions of every shape the tools must carry exactly: branches, compactions, odd values, a 2.4 MB one. */
function generate(count: number): Map<string, SessionData> {
	const rnd = random(42);
	const sessions = new Map<string, SessionData>();
	for (let i = 0; i < count; i++) {
		const id = i % 97 === 5 ? `sesión-ü-${i}-🦊` : `agent-session:${String(i).padStart(4, '0')}`;
		if (i % 50 === 0) {
			sessions.set(id, emptySession({ metadata: { note: 'empty' } }));
			continue;
		}
		const data = conversation(1 + Math.floor(rnd() * 6), { toolBytes: i === 500 ? () => 2_400_000 : 50 + Math.floor(rnd() * 400) });
		if (i % 7 === 0 && data.entries.length >= 4) {
			// A branch: a second answer to the first question.
			data.entries.push(messageEntry(`alt${i}`, data.entries[0]!.id, 'assistant', `another answer ${i}`, 900));
		}
		if (i % 11 === 0) {
			data.entries.push({
				type: 'compaction',
				id: `cmp${i}`,
				parentId: data.leafId,
				timestamp: data.updatedAt,
				summary: filler(120, i),
				firstKeptEntryId: data.entries[0]!.id,
				tokensBefore: 1000 + i,
			} as SessionData['entries'][number]);
			data.leafId = `cmp${i}`;
		}
		// Keys in an order jsonb will not keep, numbers JSON keeps exactly, text of every width.
		data.metadata = {
			zeta: i,
			alpha: { nested: [1.5, -0, 1e21, 2 ** 53 - 1, null, true], ключ: 'значение', emoji: '🙂' },
			model: 'anthropic/claude-sonnet-4-6',
			Middle: `n${i}`,
		};
		(data as unknown as Record<string, unknown>).futureField = { fromLaterFlue: rnd() };
		sessions.set(id, data);
	}
	return sessions;
}

async function checksumsOf(url: string): Promise<Map<string, string>> {
	const opened = await openStore(url, { cwd: dir, intent: 'read' });
	try {
		const sums = new Map<string, string>();
		for (const id of await listIds(opened.store)) sums.set(id, sessionChecksum(id, await opened.store.load(id)));
		return sums;
	} finally {
		await opened.close();
	}
}

describe('copy across backends', () => {
	it('1,000 sessions go SQLite → Postgres → D1 → SQLite and end identical to the source (checksums)', { timeout: 240_000 }, async () => {
		const sessions = generate(1000);
		const expected = new Map([...sessions].map(([id, data]) => [id, sessionChecksum(id, data)]));

		const source = sqliteStore(join(dir, 'source.db'), { synchronous: 'NORMAL' });
		for (const [id, data] of sessions) await source.save(id, data);
		await source.close();

		const pg = new URL(postgresUrl());
		pg.searchParams.set('schema', schema);
		pg.searchParams.set('layout', 'blob');
		const toPostgres = await cli(['copy', '--from', 'sqlite:source.db', '--to', pg.toString(), '--parallel', '8']);
		expect(toPostgres.err).toContain('1,000 sessions copied, 0 already there');
		expect(toPostgres.code).toBe(0);
		expect(await checksumsOf(pg.toString())).toEqual(expected);

		// Postgres → a real D1 database: d1Store runs inside workerd on the Worker's D1 binding,
		// persisted to disk, and the copy drives it from here.
		const state = join(dir, 'cloudflare-state');
		const mf = await startMiniflare(workerOptions(await bundleWorker(dir), state));
		try {
			const d1 = await RemoteStore.open(mf, 'roundtrip', { backend: 'd1', layout: 'log', concurrency: 'last-writer-wins' });
			const from = await openStore(pg.toString(), { cwd: dir, intent: 'read' });
			try {
				const result = await copySessions(from.store, d1 as unknown as FluePersistStore, { parallel: 8 });
				expect(result).toMatchObject({ total: 1000, copied: 1000, unchanged: 0, failed: [], interrupted: false });
			} finally {
				await from.close();
			}
			// Each session was read back from D1 and compared by the copy; the last leg reads the files.
			expect(await listIds(d1 as unknown as FluePersistStore)).toEqual([...expected.keys()].sort());
		} finally {
			await mf.dispose();
		}

		// The D1 database on disk → SQLite in the blob layout, through the d1: URL.
		const toSqlite = await cli([
			'copy',
			'--from',
			`d1:${join(state, 'd1')}?database=flue-persist-db`,
			'--to',
			'sqlite:final.db?layout=blob',
			'--parallel',
			'8',
		]);
		expect(toSqlite.err).toContain('1,000 sessions copied, 0 already there');
		expect(toSqlite.code).toBe(0);
		const final = await checksumsOf('sqlite:final.db');
		expect([...final.keys()]).toEqual([...expected.keys()].sort());
		expect(final).toEqual(expected);

		// Nothing left to do: a second run writes nothing and verifies everything is there.
		const again = await cli(['copy', '--from', 'sqlite:source.db', '--to', 'sqlite:final.db']);
		expect(again.err).toContain('0 sessions copied, 1,000 already there');
	});
});
