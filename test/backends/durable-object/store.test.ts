/**
 * durableObjectStore inside a real Durable Object's SQLite storage in workerd. The store runs in
 * the object (test/support/workers/store-worker.ts); Node drives it call by call through
 * `RemoteStore`, so the conformance suite and the Cloudflare cases run unchanged.
 */

import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversation, copy, runConformance } from '../../../src/conformance/index.js';
import { computeDelta } from '../../../src/core/delta.js';
import type { Layout } from '../../../src/types.js';
import {
	bundleWorker,
	type ExecRecord,
	objectSql,
	post,
	RemoteStore,
	type StorageForm,
	startMiniflare,
	tempDir,
	workerOptions,
} from '../../support/cloudflare.js';
import { ROW_LIMIT, runCloudflareCases, VALUE_LIMIT } from '../../support/cloudflare-cases.js';
import type { WireError } from '../../support/workers/wire.js';

const dir = tempDir('flue-persist-do-');
let mf: Miniflare;
beforeAll(async () => {
	mf = await startMiniflare(workerOptions(await bundleWorker(dir.path)));
});
afterAll(async () => {
	await mf?.dispose();
	dir.remove();
});

let n = 0;
const FORMS: Record<Exclude<StorageForm, 'recorded'>, string> = { storage: 'ctx.storage', sql: 'ctx.storage.sql' };
for (const form of ['storage', 'sql'] as const) {
	for (const layout of ['log', 'blob'] as Layout[]) {
		// The two forms differ only in how a write runs; the whole suite runs on each layout with
		// ctx.storage, and on the log layout with ctx.storage.sql.
		if (form === 'storage' || layout === 'log') {
			runConformance<RemoteStore>(
				{
					name: `durableObjectStore layout ${layout}, given ${FORMS[form]} (inside a Durable Object)`,
					// A fresh object per store; `reopen` is a second store instance inside the same object, over the same storage.
					create: (options) => RemoteStore.open(mf, `conformance-${n++}`, { form, layout, concurrency: options?.concurrency }),
					reopen: (store, options) => RemoteStore.open(mf, store.object, { form, layout, concurrency: options?.concurrency }),
				},
				{ describe, it, expect },
			);
		}
		runCloudflareCases(
			{
				name: `durableObjectStore layout ${layout}, given ${FORMS[form]}`,
				layout,
				rollsBack: form === 'storage',
				sizes: form === 'storage',
				async open() {
					const object = `cases-${n++}`;
					return {
						store: await RemoteStore.open(mf, object, { form, layout }),
						reopen: () => RemoteStore.open(mf, object, { form, layout }),
						sql: (statements) => objectSql(mf, object, statements),
						table: 'flue_sessions',
					};
				},
			},
			{ describe, it, expect },
		);
	}
}

// chunkBytes 1024 sends nearly every entry, and every header, into parts: the whole suite on the
// chunked path of the log layout (the blob layout's chunks are covered by the cases above).
runConformance<RemoteStore>(
	{
		name: 'durableObjectStore layout log, values split at 1024 bytes (inside a Durable Object)',
		create: (options) => RemoteStore.open(mf, `conformance-${n++}`, { layout: 'log', chunkBytes: 1024, concurrency: options?.concurrency }),
		reopen: (store, options) => RemoteStore.open(mf, store.object, { layout: 'log', chunkBytes: 1024, concurrency: options?.concurrency }),
	},
	{ describe, it, expect },
);

describe('durableObjectStore: what a save runs', () => {
	for (const layout of ['log', 'blob'] as Layout[]) {
		it(`layout ${layout}: each save runs in one transactionSync, with at most 100 parameters, under 100 KB of SQL and one row of bound data a statement`, async () => {
			const store = await RemoteStore.open(mf, `recorded-${n++}`, { form: 'recorded', layout });
			const id = 'agent-session:["a","recorded"]';
			expect(await store.load(id)).toBeNull();
			await store.takeLog();
			let data = conversation(40);
			const steps: Array<() => Promise<void>> = [
				() => store.save(id, data),
				() => store.save(id, (data = conversation(1, { base: data, toolBytes: 5_000_000 }))),
				() => {
					const next = copy(data);
					for (const e of next.entries) (e as { message: { content: unknown } }).message.content = [{ type: 'text', text: `edited ${e.id}` }];
					const delta = computeDelta(data, next);
					data = next;
					return store.saveDelta(id, delta);
				},
				() => store.save(id, (data = { ...copy(data), metadata: { big: 'x'.repeat(3_000_000) } })),
			];
			for (const step of steps) {
				await step();
				const log = await store.takeLog();
				const writes = log.filter((r): r is ExecRecord => typeof r !== 'string' && /^(INSERT|DELETE|UPDATE)/.test(r.sql));
				expect(log.filter((r) => r === 'begin').length).toBe(1);
				expect(writes.length).toBeGreaterThan(1);
				expect(writes[0]!.sql).toMatch(/^INSERT INTO "[a-z_]+_guard"/);
				for (const w of writes) {
					expect(w.inTransaction).toBe(true);
					expect(w.params).toBeLessThanOrEqual(100);
					expect(Buffer.byteLength(w.sql)).toBeLessThan(1024); // far below the 100 KB statement limit
					expect(w.bytes).toBeLessThan(ROW_LIMIT);
				}
				// The transaction holds the writes and nothing else runs in between.
				const begin = log.indexOf('begin');
				const end = log.indexOf('end');
				expect(log.slice(begin + 1, end).every((r) => typeof r !== 'string' && r.inTransaction)).toBe(true);
				expect(log.slice(begin + 1, end).length).toBe(writes.length);
			}
			expect(await store.load(id)).toEqual(data);
			await store.close();
		}, 60_000);
	}
	it('values stay within 1,900,000 bytes', async () => {
		const object = `value-limit-${n++}`;
		const store = await RemoteStore.open(mf, object, { layout: 'log' });
		await store.save('a', conversation(1, { toolBytes: 3 * VALUE_LIMIT }));
		const row = (
			await objectSql(mf, object, [{ sql: 'SELECT max(length(CAST(data AS BLOB))) AS largest, count(*) AS parts FROM flue_sessions_entries WHERE parts > 1' }])
		)[0]![0];
		expect(Number(row!.largest)).toBeLessThanOrEqual(VALUE_LIMIT);
		expect(Number(row!.parts)).toBeGreaterThanOrEqual(3);
		await store.close();
	});
});

describe('durableObjectStore configuration (inside workerd)', () => {
	it('anything but ctx.storage or ctx.storage.sql fails with CONFIG naming what it got and the fix', async () => {
		const results = await post<Array<{ what: string; error: WireError | null }>>(mf, '/do/config/config', '');
		const got: Record<string, string> = {
			undefined: 'got undefined',
			'the state (ctx)': "got the Durable Object's state (ctx) itself",
			'a D1 binding': 'got a D1 database',
			'a string': 'got string "DB"',
		};
		expect(results.map((r) => r.what)).toEqual(Object.keys(got));
		for (const { what, error } of results) {
			expect(error?.code).toBe('CONFIG');
			expect(error?.backend).toBe('durable-object');
			expect(error?.message).toContain(got[what]);
			expect(error?.message).toContain('this.ctx.storage');
			expect(error?.message).toContain('new_sqlite_classes');
		}
	});
	it('a Durable Object class without SQLite storage fails with CONFIG and the wrangler.jsonc migration', async () => {
		const { error } = await post<{ error: WireError | null }>(mf, '/kv-object/a', '').then(
			() => ({ error: null }),
			(e: Error & { code?: string }) => ({ error: { name: e.name, message: e.message, code: e.code } as WireError }),
		);
		expect(error?.code).toBe('CONFIG');
		expect(error?.message).toContain('needs SQLite storage');
		expect(error?.message).toContain('"new_sqlite_classes"');
	});
	it('bad options fail with CONFIG naming the option', async () => {
		for (const [options, option] of [
			[{ layout: 'rows' }, 'option layout'],
			[{ layout: 'log', table: 'flue-sessions' }, 'option table'],
			[{ layout: 'log', concurrency: 'yolo' }, 'option concurrency'],
			[{ layout: 'log', chunkBytes: 2_000_000 }, 'option chunkBytes'],
		] as const) {
			const error = await RemoteStore.open(mf, `options-${n++}`, options as never).then(
				() => null,
				(e: Error & { code?: string }) => e,
			);
			expect(error?.code).toBe('CONFIG');
			expect(error?.message).toContain(option);
		}
	});
});
