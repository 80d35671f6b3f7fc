/**
 * d1Store against a real D1 database inside workerd.
 *
 * - The conformance suite and the Cloudflare limit cases run d1Store inside workerd, on the
 *   Worker's own D1 binding (hosted in a Durable Object, where a Flue agent would create it);
 *   Node drives each store call by call through `RemoteStore`.
 * - What each save sends to D1, and the configuration checks, run d1Store in Node on the binding
 *   miniflare hands out (`getD1Database`), whose queries run in the same D1 inside workerd.
 */

import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type D1DatabaseLike, type D1PreparedStatementLike, d1Store } from '../../../src/backends/d1/index.js';
import { conversation, copy, runConformance } from '../../../src/conformance/index.js';
import { computeDelta } from '../../../src/core/delta.js';
import type { Layout } from '../../../src/types.js';
import { bundleWorker, RemoteStore, startMiniflare, type TestD1, tempDir, testD1, workerD1Sql, workerOptions } from '../../support/cloudflare.js';
import { ROW_LIMIT, runCloudflareCases, VALUE_LIMIT } from '../../support/cloudflare-cases.js';

const dir = tempDir('flue-persist-d1-');
let mf: Miniflare;
let db: TestD1;
beforeAll(async () => {
	mf = await startMiniflare(workerOptions(await bundleWorker(dir.path)));
	db = await testD1(mf, 'DB');
});
afterAll(async () => {
	await mf?.dispose();
	dir.remove();
});

let n = 0;
for (const layout of ['log', 'blob'] as Layout[]) {
	// Each store gets its own tables in the one database; `reopen` is a second store instance over the same tables.
	runConformance<RemoteStore>(
		{
			name: `d1Store layout ${layout} (inside workerd, on the Worker's D1 binding)`,
			create: (options) =>
				RemoteStore.open(mf, `d1-conformance-${n}`, { backend: 'd1', layout, table: `conformance_${n++}`, concurrency: options?.concurrency }),
			reopen: (store, options) => RemoteStore.open(mf, store.object, { backend: 'd1', layout, table: store.table, concurrency: options?.concurrency }),
		},
		{ describe, it, expect },
	);
	runCloudflareCases(
		{
			name: `d1Store layout ${layout}`,
			layout,
			rollsBack: true,
			async open() {
				const object = `d1-cases-${n}`;
				const table = `limits_${n++}`;
				return {
					store: await RemoteStore.open(mf, object, { backend: 'd1', layout, table }),
					reopen: () => RemoteStore.open(mf, object, { backend: 'd1', layout, table }),
					sql: (statements) => workerD1Sql(mf, statements),
					table,
				};
			},
		},
		{ describe, it, expect },
	);
}

/** The real binding, with every batch() written down before it goes to D1. */
function recordingD1(real: D1DatabaseLike) {
	type Recorded = D1PreparedStatementLike & { sql: string; params: unknown[]; inner: D1PreparedStatementLike };
	const batches: Array<Array<{ sql: string; params: unknown[] }>> = [];
	const wrap = (inner: D1PreparedStatementLike, sql: string, params: unknown[]): Recorded => ({
		sql,
		params,
		inner,
		bind: (...values) => wrap(inner.bind(...values), sql, values),
	});
	const recording: D1DatabaseLike = {
		prepare: (sql) => wrap(real.prepare(sql), sql, []),
		batch: (statements) => {
			const list = statements as Recorded[];
			batches.push(list.map((s) => ({ sql: s.sql, params: s.params })));
			return real.batch(list.map((s) => s.inner));
		},
	};
	return { db: recording, batches };
}

const utf8 = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 8);
const isWrite = (batch: Array<{ sql: string }>) => batch.some((s) => /^(INSERT|DELETE|UPDATE)/.test(s.sql));

describe('d1Store: what a save sends to D1', () => {
	for (const layout of ['log', 'blob'] as Layout[]) {
		it(`layout ${layout}: each save is one batch() of statements with at most 100 parameters, under 100 KB of SQL and one row of bound data`, async () => {
			const rec = recordingD1(db);
			const store = d1Store(rec.db, { layout, table: `sent_${layout}` });
			const id = 'agent-session:["a","sent"]';
			expect(await store.load(id)).toBeNull(); // creates the tables first, so that every batch below belongs to a save
			let data = conversation(40);
			const steps: Array<() => Promise<void>> = [
				() => store.save(id, data), // 160 new entries: several multi-row inserts
				() => store.save(id, (data = conversation(1, { base: data, toolBytes: 5_000_000 }))), // one entry in parts
				() => {
					const next = copy(data);
					for (const e of next.entries) (e as { message: { content: unknown } }).message.content = [{ type: 'text', text: `edited ${e.id}` }];
					const delta = computeDelta(data, next);
					data = next;
					return store.saveDelta(id, delta); // 164 changed entries: deletes split at 99 ids
				},
				() => store.save(id, (data = { ...copy(data), metadata: { big: 'x'.repeat(3_000_000) } })), // a header in parts
			];
			const sent: Array<Array<{ sql: string; params: unknown[] }>> = [];
			for (const step of steps) {
				rec.batches.length = 0;
				await step();
				const writes = rec.batches.filter(isWrite);
				expect(writes.length).toBe(1);
				expect(writes[0]![0]!.sql).toMatch(/^INSERT INTO "[a-z_]+_guard"/);
				for (const s of writes[0]!) {
					expect(s.params.length).toBeLessThanOrEqual(100);
					expect(Buffer.byteLength(s.sql)).toBeLessThan(1024); // far below the 100 KB statement limit
					expect(s.params.reduce<number>((sum, p) => sum + utf8(p), 0)).toBeLessThan(ROW_LIMIT);
					for (const p of s.params) expect(utf8(p)).toBeLessThanOrEqual(VALUE_LIMIT);
				}
				sent.push(writes[0]!);
			}
			// The steps did reach the limits they were built to reach.
			const count = (step: number, pattern: RegExp) => sent[step]!.filter((s) => pattern.test(s.sql)).length;
			if (layout === 'log') {
				expect(count(0, /^INSERT INTO "sent_log_entries"/)).toBeGreaterThanOrEqual(12);
				expect(count(1, /^INSERT INTO "sent_log_entries"/)).toBeGreaterThanOrEqual(3);
				expect(count(2, /^DELETE FROM "sent_log_entries" WHERE session_id = \? AND entry_id IN/)).toBeGreaterThanOrEqual(2);
				expect(count(3, /^INSERT INTO "sent_log_entries"/)).toBeGreaterThanOrEqual(2);
			} else {
				expect(count(1, /^INSERT INTO "sent_blob_chunks"/)).toBeGreaterThanOrEqual(3);
				expect(count(3, /^INSERT INTO "sent_blob_chunks"/)).toBeGreaterThanOrEqual(2);
			}
			expect(await d1Store(db, { layout, table: `sent_${layout}` }).load(id)).toEqual(data);
		}, 60_000);
	}
});

describe('d1Store configuration', () => {
	const fix = /wrangler\.jsonc.*"d1_databases": \[\{ "binding": "DB"/;
	it('a missing binding fails with CONFIG naming what it got and the wrangler.jsonc fix', () => {
		for (const [value, got] of [
			[undefined, 'got undefined'],
			[null, 'got null'],
			['DB', 'got string "DB"'],
			[{}, 'got an empty object'],
			[{ DB: {}, AI: {} }, 'got an object with DB, AI'],
			[{ idFromName() {}, get() {} }, 'got a Durable Object namespace'],
			[{ sql: {}, transactionSync() {} }, "got a Durable Object's storage"],
		] as Array<[unknown, string]>) {
			let caught: (Error & { code?: string; backend?: string }) | undefined;
			try {
				// JavaScript callers and an `env: any` bypass the parameter type; the run-time check must catch them.
				d1Store(value as D1DatabaseLike);
			} catch (e) {
				caught = e as Error & { code?: string };
			}
			expect(caught?.code).toBe('CONFIG');
			expect(caught?.backend).toBe('d1');
			expect(caught?.message).toContain(got);
			expect(caught?.message).toMatch(fix);
		}
	});
	it('bad options fail with CONFIG naming the option', () => {
		expect(() => d1Store(db, { layout: 'rows' as never })).toThrowError(/option layout/);
		expect(() => d1Store(db, { table: 'flue-sessions' })).toThrowError(/option table/);
		expect(() => d1Store(db, { concurrency: 'yolo' as never })).toThrowError(/option concurrency/);
		expect(() => d1Store(db, { cacheBytes: -1 })).toThrowError(/option cacheBytes/);
		expect(() => d1Store(db, { chunkBytes: 2_000_000 })).toThrowError(/option chunkBytes must be a whole number of bytes from 1024 to 1900000/);
	});
	it('the store names its backend and capabilities', () => {
		const store = d1Store(db, { layout: 'blob' });
		expect([store.backend, store.layout, store.concurrency]).toEqual(['d1', 'blob', 'optimistic']);
		expect(store.capabilities).toEqual({ saveDelta: true, list: true, lineage: true, durable: true, maxSessionBytes: 32 * 1024 * 1024 });
		expect(d1Store(db).layout).toBe('log');
	});
});
