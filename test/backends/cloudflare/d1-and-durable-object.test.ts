/**
 * The two Cloudflare stores together, inside workerd: the blob layout against the rows Flue's
 * default Durable Object store writes (moved between a Durable Object and D1 with plain SQL), and
 * a Worker whose Durable Object keeps a Flue-shaped session across requests and a restart.
 */

import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { d1Store } from '../../../src/backends/d1/index.js';
import { conversation, emptySession } from '../../../src/conformance/index.js';
import type { SessionData } from '../../../src/types.js';
import { bundleWorker, objectSql, post, RemoteStore, startMiniflare, tempDir, testD1, workerOptions } from '../../support/cloudflare.js';

/** The table Flue's default Durable Object store creates. */
const FLUE_TABLE = 'CREATE TABLE IF NOT EXISTS flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)';
const key = (session: string) => `agent-session:${JSON.stringify(['support-agent', session])}`;

const dir = tempDir('flue-persist-cloudflare-');
let script: string;
let mf: Miniflare;
beforeAll(async () => {
	script = await bundleWorker(dir.path);
	mf = await startMiniflare(workerOptions(script));
});
afterAll(async () => {
	await mf?.dispose();
	dir.remove();
});

/** Sessions as Flue writes them, below the size at which the store splits a session into chunks. */
function flueSessions(): Array<[string, SessionData]> {
	const unicode = conversation(1);
	unicode.metadata = {
		texts: ['héllo — ünïcödé', '👩‍👩‍👧‍👦 🏳️‍🌈', '日本語', 'tab\tnew\nline', '\u2028\u2029', '"quoted" \\ back', "'); DROP TABLE flue_sessions; --"],
	};
	const task = emptySession({ metadata: { parent: key('t1') } });
	return [
		[key('t1'), conversation(3)],
		[key('unicode 🧵'), unicode],
		[key('empty'), emptySession()],
		[key('task:t1:0b7c1f42-9f1e-4c55-a7a5-1b2c3d4e5f60'), task],
		// 1.7 MB: one row in Flue's store and in the blob layout alike.
		[key('near-the-row-limit'), conversation(16, { toolBytes: 105_000 })],
	];
}

describe("blob layout: the rows of Flue's default Durable Object store", () => {
	it('the table d1Store creates has the columns, types, nullability and key of the one Flue creates', async () => {
		await post(mf, '/do/flue-table/flue-save', JSON.stringify({ id: 'x', data: emptySession() }));
		const columns = `SELECT name, type, "notnull", pk FROM pragma_table_info('flue_sessions') ORDER BY cid`;
		const [inObject] = await objectSql(mf, 'flue-table', [{ sql: columns }]);
		const db = await testD1(mf, 'DB');
		expect(await d1Store(db, { layout: 'blob' }).load('x')).toBeNull();
		const inD1 = (await db.prepare(columns).all()).results;
		expect(inD1).toEqual(inObject);
		expect(inD1.map((c) => [c.name, c.type])).toEqual([
			['id', 'TEXT'],
			['data', 'TEXT'],
			['updated_at', 'INTEGER'],
		]);
	});

	it('rows written by Flue in a Durable Object, copied into D1 with plain SQL, load unchanged; what d1Store then saves, copied back, loads unchanged in Flue', async () => {
		const sessions = flueSessions();
		for (const [id, data] of sessions) await post(mf, '/do/flue-origin/flue-save', JSON.stringify({ id, data }));
		const all = 'SELECT id, data, updated_at, typeof(data) AS data_type, typeof(updated_at) AS at_type FROM flue_sessions ORDER BY id';
		const [fromFlue] = await objectSql(mf, 'flue-origin', [{ sql: all }]);
		expect(fromFlue!.length).toBe(sessions.length);

		// Durable Object → D1, plain SQL.
		const d1 = await testD1(mf, 'COMPAT');
		await d1.prepare(FLUE_TABLE).run();
		await d1.batch(fromFlue!.map((r) => d1.prepare('INSERT INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)').bind(r.id, r.data, r.updated_at)));
		const store = d1Store(d1, { layout: 'blob' });
		for (const [id, data] of sessions) expect(await store.load(id)).toEqual(data);
		const inD1 = (await d1.prepare(all).all()).results;
		expect(inD1.length).toBe(fromFlue!.length);
		inD1.forEach((row, i) => {
			// Byte for byte: equal strings, both stored as TEXT, the time as an INTEGER.
			expect(row.id).toBe(fromFlue![i]!.id);
			expect(row.data === fromFlue![i]!.data).toBe(true);
			expect([row.data_type, row.at_type]).toEqual(['text', 'integer']);
		});

		// d1Store writes on top of Flue's rows (their updated_at serves as the revision) and adds its own.
		const [first, second] = sessions;
		const grown = conversation(1, { base: first![1] });
		await store.save(first![0], grown);
		const created = conversation(2, { base: emptySession({ metadata: { by: 'd1Store' } }) });
		await store.save(key('made-by-d1'), created);
		const expected = new Map<string, SessionData>([...sessions, [first![0], grown], [key('made-by-d1'), created]]);
		const written = (await d1.prepare(all).all()).results;
		expect(written.length).toBe(expected.size);
		for (const row of written) {
			// The exact text Flue would have written for the same data.
			expect(row.data === JSON.stringify(expected.get(String(row.id)))).toBe(true);
			expect([row.data_type, row.at_type]).toEqual(['text', 'integer']);
		}
		expect(written.find((r) => r.id === second![0])!.data === fromFlue!.find((r) => r.id === second![0])!.data).toBe(true);

		// D1 → a Durable Object, plain SQL; Flue's own load reads every row.
		await objectSql(mf, 'flue-return', [
			{ sql: FLUE_TABLE },
			...written.map((r) => ({ sql: 'INSERT OR REPLACE INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)', params: [r.id, r.data, r.updated_at] })),
		]);
		for (const [id, data] of expected) {
			expect(await post(mf, '/do/flue-return/flue-load', JSON.stringify({ id }))).toEqual({ data });
		}
		const [back] = await objectSql(mf, 'flue-return', [{ sql: all }]);
		expect(back!.map((r) => r.data)).toEqual(written.map((r) => r.data));
	});

	it("durableObjectStore in blob layout reads the rows Flue's store wrote in the same object, and Flue reads what it saves", async () => {
		const sessions = flueSessions();
		for (const [id, data] of sessions) await post(mf, '/do/flue-in-place/flue-save', JSON.stringify({ id, data }));
		const store = await RemoteStore.open(mf, 'flue-in-place', { layout: 'blob' });
		for (const [id, data] of sessions) expect(await store.load(id)).toEqual(data);
		const grown = conversation(1, { base: sessions[0]![1], toolBytes: 5_000 });
		await store.save(sessions[0]![0], grown);
		expect(await post(mf, '/do/flue-in-place/flue-load', JSON.stringify({ id: sessions[0]![0] }))).toEqual({ data: grown });
		const row = (await objectSql(mf, 'flue-in-place', [{ sql: 'SELECT data FROM flue_sessions WHERE id = ?', params: [sessions[0]![0]] }]))[0]![0];
		expect(row!.data === JSON.stringify(grown)).toBe(true);

		// A session past the row limit (marker row plus chunks), then the guide's copy into D1.
		const big = conversation(2, { toolBytes: (t) => (t === 1 ? 5_000_000 : 300) });
		await store.save(key('big'), big);
		await store.close();
		const d1 = d1Store(await testD1(mf, 'DB'), { layout: 'blob' });
		expect(await d1.load(key('big'))).toBeNull(); // creates the tables, as the guide says
		await post(mf, '/do/flue-in-place/copy-to-d1', '');
		for (const [id, data] of [...sessions.slice(1), [sessions[0]![0], grown] as const, [key('big'), big] as const]) expect(await d1.load(id)).toEqual(data);
	});
});

describe('a Worker keeps a Flue-shaped session across requests and a restart of miniflare', () => {
	/** What the agent holds after `turns` requests: an empty session saved on the first miss, then one turn per request. */
	const afterTurns = (turns: number) => {
		let data = emptySession();
		for (let i = 0; i < turns; i++) data = conversation(1, { base: data });
		return data;
	};
	const routes = [
		['Durable Object, log layout', '/agent/support/{}?layout=log&session=s1'],
		['Durable Object, blob layout', '/agent/support/{}?layout=blob&session=s1'],
		['D1 from the Worker, log layout', '/d1/x/{}?layout=log&session=s1'],
		['D1 from the Worker, blob layout', '/d1/x/{}?layout=blob&session=s1'],
	] as const;

	it('two requests, a restart with persisted storage, a third request: every session is whole', async () => {
		const persisted = tempDir('flue-persist-restart-');
		try {
			let worker = await startMiniflare(workerOptions(script, persisted.path));
			for (const [, route] of routes) {
				expect(await post(worker, route.replace('{}', 'turn'), '')).toEqual({ entries: 4 });
				expect(await post(worker, route.replace('{}', 'turn'), '')).toEqual({ entries: 8 });
				expect(await post(worker, route.replace('{}', 'session'), '')).toEqual({ data: afterTurns(2) });
			}
			await worker.dispose();

			// Without the persisted storage nothing is there: what follows is read from disk, not from a process that survived.
			const blank = await startMiniflare(workerOptions(script));
			for (const [, route] of routes) expect(await post(blank, route.replace('{}', 'session'), '')).toEqual({ data: null });
			await blank.dispose();

			worker = await startMiniflare(workerOptions(script, persisted.path));
			for (const [what, route] of routes) {
				expect({ what, ...(await post<object>(worker, route.replace('{}', 'session'), '')) }).toEqual({ what, data: afterTurns(2) });
				expect(await post(worker, route.replace('{}', 'turn'), '')).toEqual({ entries: 12 });
				expect(await post(worker, route.replace('{}', 'session'), '')).toEqual({ data: afterTurns(3) });
			}
			await worker.dispose();
		} finally {
			persisted.remove();
		}
	}, 60_000);
});

describe('d1Store inside a Worker', () => {
	it('a binding that is not there, or not D1, fails with CONFIG naming what it got and the wrangler.jsonc fix', async () => {
		for (const [binding, got] of [
			['MISSING', 'got undefined'],
			['STORE', 'got a Durable Object namespace'],
		] as const) {
			const error = await post(mf, `/d1-config/${binding}`, '').then(
				() => null,
				(e: Error & { code?: string }) => e,
			);
			expect(error?.code).toBe('CONFIG');
			expect(error?.message).toContain(got);
			expect(error?.message).toContain('"d1_databases": [{ "binding": "DB"');
		}
		expect(await post(mf, '/d1-config/DB', '')).toEqual({ error: null });
	});
});
