/**
 * The Cloudflare-specific cases both SQLite-family Cloudflare stores (D1 and Durable Object) must
 * pass, in each layout: the 2,000,000-byte row limit, chunk sets that are incomplete, and writes
 * that fail part-way. Each backend supplies how to open a store and how to run SQL next to it.
 */
import { createHash } from 'node:crypto';
import type { describe as Describe, expect as Expect, it as It } from 'vitest';
import { conversation, copy, entryId, filler, messageEntry, type TestStore } from '../../src/conformance/index.js';
import type { Layout, SessionData } from '../../src/types.js';

export type Row = Record<string, unknown>;
export type Sql = (statements: Array<{ sql: string; params?: unknown[] }>) => Promise<Row[][]>;
export type CloseableStore = TestStore & { close(): Promise<void> };

/** The published Cloudflare row limit, and the largest value the stores write into one column. */
export const ROW_LIMIT = 2_000_000;
export const VALUE_LIMIT = 1_900_000;
const MB = 1024 * 1024;

export interface Opened {
	store: CloseableStore;
	/** A second store instance over the same tables (nothing cached). */
	reopen(): Promise<CloseableStore>;
	/** SQL on the database the store writes to. */
	sql: Sql;
	/** The `table` option the store was opened with. */
	table: string;
}

export interface CloudflareTarget {
	name: string;
	layout: Layout;
	open(): Promise<Opened>;
	/** Whether a statement that fails after the guard leaves the stored rows as they were. */
	rollsBack: boolean;
	/** Run the row-limit cases too (default true); false runs only the failed-write cases. */
	sizes?: boolean;
}

/** The tables a store of this layout writes. */
export function tablesOf(table: string, layout: Layout): string[] {
	return layout === 'blob' ? [table, `${table}_chunks`] : [`${table}_log`, `${table}_entries`];
}

/** A digest of every row of the store's tables, to prove that a failed write changed nothing. */
export async function digestRows(sql: Sql, table: string, layout: Layout): Promise<string> {
	const hash = createHash('sha256');
	const rows = await sql(tablesOf(table, layout).map((t) => ({ sql: `SELECT * FROM "${t}" ORDER BY 1, 2, 3` })));
	for (const r of rows) hash.update(JSON.stringify(r));
	return hash.digest('hex');
}

/** The largest stored value and the largest row (sum of its text columns), in UTF-8 bytes. */
export async function largestRow(sql: Sql, table: string, layout: Layout): Promise<{ value: number; row: number; rows: number }> {
	const len = (c: string) => `coalesce(length(CAST(${c} AS BLOB)), 0)`;
	const queries =
		layout === 'blob'
			? [
					{ sql: `SELECT max(${len('data')}) AS value, max(${len('id')} + ${len('data')} + 8) AS row, count(*) AS rows FROM "${table}"` },
					{ sql: `SELECT max(${len('data')}) AS value, max(${len('id')} + ${len('data')} + 8) AS row, count(*) AS rows FROM "${table}_chunks"` },
				]
			: [
					{ sql: `SELECT max(${len('header')}) AS value, max(${len('id')} + ${len('header')} + 24) AS row, count(*) AS rows FROM "${table}_log"` },
					{
						sql: `SELECT max(${len('data')}) AS value, max(${len('session_id')} + ${len('entry_id')} + ${len('parent_id')} + ${len('data')} + 24) AS row, count(*) AS rows FROM "${table}_entries"`,
					},
				];
	const results = await sql(queries);
	const all = results.map((r) => r[0]!);
	return {
		value: Math.max(...all.map((r) => Number(r.value ?? 0))),
		row: Math.max(...all.map((r) => Number(r.row ?? 0))),
		rows: all.reduce((n, r) => n + Number(r.rows), 0),
	};
}

/** A session whose one tool result is 5 MB: a single entry past the row limit. */
export function bigToolResult(): SessionData {
	return conversation(3, { toolBytes: (turn) => (turn === 1 ? 5_000_000 : 300) });
}
/** The id of the 5 MB tool result entry in `bigToolResult()`. */
export const BIG_ENTRY = entryId(6);

/** A 30 MB session: 290 turns with 100 KB tool results, and 2.5 MB of metadata (a header past the row limit). */
export function thirtyMegabytes(): SessionData {
	const data = conversation(290, { toolBytes: 100_000 });
	data.metadata.notes = filler(2_500_000, 7);
	return data;
}

/** Registers the cases for one store and layout. */
export function runCloudflareCases(target: CloudflareTarget, runner: { describe: typeof Describe; it: typeof It; expect: typeof Expect }): void {
	const { describe, it, expect } = runner;
	const { layout } = target;
	const key = (name: string) => `agent-session:${JSON.stringify(['support-agent', name])}`;

	async function withOpened(fn: (o: Opened, opened: CloseableStore[]) => Promise<void>): Promise<void> {
		const o = await target.open();
		const opened: CloseableStore[] = [o.store];
		try {
			await fn(o, opened);
		} finally {
			for (const s of opened.reverse()) await s.close();
		}
	}

	async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error & { code?: string; sessionId?: string }> {
		const caught = await promise.then(
			() => undefined,
			(e: unknown) => e as Error & { code?: string; sessionId?: string },
		);
		expect(caught).toBeInstanceOf(Error);
		expect(caught!.code).toBe(code);
		return caught!;
	}

	describe(`${target.name}: tables the store did not make`, () => {
		it("an application's tables under the store's names are refused with CONFIG before any read or write, and their rows stay", () =>
			withOpened(async ({ store, sql, table }) => {
				await sql([
					{ sql: `CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, name TEXT)` },
					{ sql: `CREATE TABLE "${table}_log" (id TEXT PRIMARY KEY, msg TEXT)` },
					{ sql: `INSERT INTO "${table}" VALUES (1, 'application row')` },
					{ sql: `INSERT INTO "${table}_log" VALUES ('1', 'application row')` },
				]);
				const snapshot = () =>
					sql([
						{ sql: `SELECT * FROM "${table}"` },
						{ sql: `SELECT * FROM "${table}_log"` },
						{ sql: `SELECT name FROM sqlite_master WHERE name LIKE ? ORDER BY name`, params: [`${table}%`] },
					]);
				const before = await snapshot();
				const err = await rejectsWith(store.delete('1'), 'CONFIG');
				expect(err.message).toContain(
					layout === 'blob' ? `table ${table} has columns (id INTEGER key, name TEXT)` : `table ${table}_log has columns (id TEXT key, msg TEXT)`,
				);
				await rejectsWith(store.load('1'), 'CONFIG');
				await rejectsWith(store.save('1', conversation(1)), 'CONFIG');
				expect(await snapshot()).toEqual(before);
			}));
	});

	if (target.sizes !== false)
		describe(`${target.name}: past the ${ROW_LIMIT.toLocaleString('en-US')}-byte row limit`, () => {
			it('a 5 MB tool result is stored in parts of at most 1,900,000 bytes and a new instance loads it whole', () =>
				withOpened(async ({ store, reopen, sql, table }, opened) => {
					const id = key('big-tool-result');
					const data = bigToolResult();
					await store.save(id, data);
					const size = await largestRow(sql, table, layout);
					expect(size.value).toBeLessThanOrEqual(VALUE_LIMIT);
					expect(size.row).toBeLessThan(ROW_LIMIT);
					if (layout === 'log') {
						const [parts] = await sql([
							{ sql: `SELECT part, parts FROM "${table}_entries" WHERE session_id = ? AND entry_id = ? ORDER BY part`, params: [id, BIG_ENTRY] },
						]);
						expect(parts!.length).toBeGreaterThanOrEqual(3);
						expect(parts!.map((p) => Number(p.part))).toEqual(parts!.map((_, i) => i));
					} else {
						const [heads, chunks] = await sql([
							{ sql: `SELECT substr(data, 1, 24) AS start FROM "${table}" WHERE id = ?`, params: [id] },
							{ sql: `SELECT seq FROM "${table}_chunks" WHERE id = ? ORDER BY seq`, params: [id] },
						]);
						expect(heads![0]!.start).toBe('{"flue-persist:chunked":');
						expect(chunks!.length).toBeGreaterThanOrEqual(3);
					}
					const other = await reopen();
					opened.push(other);
					expect(await other.load(id)).toEqual(data);
				}));

			it(
				'a 30 MB session (with 2.5 MB of metadata) keeps every row under the limit, loads whole, and takes a further turn',
				() =>
					withOpened(async ({ store, reopen, sql, table }, opened) => {
						const id = key('thirty-mb');
						const data = thirtyMegabytes();
						expect(JSON.stringify(data).length).toBeGreaterThan(30 * MB);
						await store.save(id, data);
						const size = await largestRow(sql, table, layout);
						expect(size.value).toBeLessThanOrEqual(VALUE_LIMIT);
						expect(size.row).toBeLessThan(ROW_LIMIT);
						expect(size.rows).toBeGreaterThan(layout === 'blob' ? 16 : 1160);
						const other = await reopen();
						opened.push(other);
						const loaded = (await other.load(id))!;
						expect(loaded).toEqual(data);
						const next = conversation(1, { base: loaded, toolBytes: 2_500_000 });
						await other.save(id, next);
						expect(await store.load(id)).toEqual(next);
					}),
				180_000,
			);

			it('a set of parts missing its middle or its last part loads as CORRUPT, never as data', () =>
				withOpened(async ({ store, reopen, sql, table }, opened) => {
					const middle = key('missing-middle');
					const last = key('missing-last');
					await store.save(middle, bigToolResult());
					await store.save(last, bigToolResult());
					if (layout === 'log') {
						await sql([
							{ sql: `DELETE FROM "${table}_entries" WHERE session_id = ? AND entry_id = ? AND part = 1`, params: [middle, BIG_ENTRY] },
							{
								sql: `DELETE FROM "${table}_entries" WHERE session_id = ? AND entry_id = ? AND part = (SELECT max(part) FROM "${table}_entries" WHERE session_id = ? AND entry_id = ?)`,
								params: [last, BIG_ENTRY, last, BIG_ENTRY],
							},
						]);
					} else {
						await sql([
							{ sql: `DELETE FROM "${table}_chunks" WHERE id = ? AND seq = 1`, params: [middle] },
							{ sql: `DELETE FROM "${table}_chunks" WHERE id = ? AND seq = (SELECT max(seq) FROM "${table}_chunks" WHERE id = ?)`, params: [last, last] },
						]);
					}
					const other = await reopen();
					opened.push(other);
					for (const id of [middle, last]) {
						const error = await rejectsWith(other.load(id), 'CORRUPT');
						expect(error.sessionId).toBe(id);
						expect(error.message).toContain(JSON.stringify(id));
					}
				}));

			if (layout === 'log') {
				it('a session header stored in parts with a part missing loads as CORRUPT', () =>
					withOpened(async ({ store, reopen, sql, table }, opened) => {
						const id = key('header-parts');
						const data = conversation(1);
						data.metadata.notes = filler(4_000_000, 3);
						await store.save(id, data);
						const [parts] = await sql([{ sql: `SELECT count(*) AS n FROM "${table}_entries" WHERE session_id = ? AND entry_id = ''`, params: [id] }]);
						expect(Number(parts![0]!.n)).toBeGreaterThanOrEqual(3);
						const other = await reopen();
						opened.push(other);
						expect(await other.load(id)).toEqual(data);
						await sql([{ sql: `DELETE FROM "${table}_entries" WHERE session_id = ? AND entry_id = '' AND part = 0`, params: [id] }]);
						await rejectsWith(other.load(id), 'CORRUPT');
					}));
			}
		});

	describe(`${target.name}: a write that fails changes nothing`, () => {
		it('a stale save of a chunked session fails with CONFLICT and leaves every row as it was', () =>
			withOpened(async ({ store, reopen, sql, table }, opened) => {
				const id = key('stale-chunked');
				await store.save(id, bigToolResult());
				const other = await reopen();
				opened.push(other);
				const stale = (await other.load(id))!;
				const fresh = conversation(1, { base: (await store.load(id))! });
				await store.save(id, fresh);
				const before = await digestRows(sql, table, layout);
				// The stale writer adds its own 5 MB: a long statement list that the guard must stop at the first statement.
				const staleNext = conversation(2, { base: stale, startAt: 900, toolBytes: 3_000_000 });
				await rejectsWith(other.save(id, staleNext), 'CONFLICT');
				expect(await digestRows(sql, table, layout)).toBe(before);
				expect(await other.load(id)).toEqual(fresh);
			}));

		it(
			target.rollsBack
				? 'a statement that fails after the guard rolls the whole write back, and the same save succeeds afterwards'
				: 'a statement that fails after the guard is reported as a possibly half-written session',
			() =>
				withOpened(async ({ store, sql, table }) => {
					const id = key('planted-failure');
					const data = conversation(2, { toolBytes: (t) => (t === 1 ? 4_500_000 : 300) });
					await store.save(id, data);
					const before = await digestRows(sql, table, layout);
					const next = conversation(1, { base: copy(data), toolBytes: 4_500_000 });
					next.metadata.turn = 'third';
					next.entries.push(messageEntry('ffffffff', next.leafId, 'user', 'the entry the planted trigger refuses', 999));
					next.leafId = 'ffffffff';
					// A trigger that refuses the last row this save writes: everything before it has run.
					const planted =
						layout === 'log'
							? `CREATE TRIGGER planted_failure BEFORE INSERT ON "${table}_entries" WHEN NEW.entry_id = 'ffffffff' BEGIN SELECT RAISE(ABORT, 'planted failure'); END`
							: `CREATE TRIGGER planted_failure BEFORE INSERT ON "${table}_chunks" WHEN NEW.seq = 2 AND NEW.id = '${id.replaceAll("'", "''")}' BEGIN SELECT RAISE(ABORT, 'planted failure'); END`;
					await sql([{ sql: planted }]);
					const error = await rejectsWith(store.save(id, next), 'BACKEND');
					expect(error.message).toContain('planted failure');
					expect(error.message).toContain(JSON.stringify(id));
					if (target.rollsBack) {
						expect(await digestRows(sql, table, layout)).toBe(before);
						expect(await store.load(id)).toEqual(data);
						await sql([{ sql: 'DROP TRIGGER planted_failure' }]);
						await store.save(id, next);
						expect(await store.load(id)).toEqual(next);
					} else {
						expect(error.message).toContain('half-written');
						expect(error.message).toContain('this.ctx.storage');
						expect(await digestRows(sql, table, layout)).not.toBe(before);
						await sql([{ sql: 'DROP TRIGGER planted_failure' }]);
					}
				}),
		);
	});
}
