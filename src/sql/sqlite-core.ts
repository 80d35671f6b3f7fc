/**
 * The SQL shared by SQLite, Cloudflare D1 and Durable Object SQLite. Each of those backends is a
 * thin `SqliteExecutor` (how to run a list of statements atomically) around this one core.
 *
 * Atomic and conditional without interactive transactions: D1 offers only `batch()`, so every
 * write is one statement list whose first statement is a guard insert. A trigger on the guard
 * table aborts the whole list when the stored revision is not the one the writer read.
 */

import type { PositionedEntry } from '../core/delta.js';
import { type RawBlobSession, type RawLogSession, StaleRevisionError, type StorageAdapter, type WritePlan } from '../core/engine.js';
import { checkFormatStamp } from '../core/format.js';
import { utf8Length } from '../core/serialize.js';
import { splitUtf8 } from '../core/utf8.js';
import { ConfigError, CorruptError, type FluePersistError } from '../errors.js';
import type { Layout, ListPage } from '../types.js';
import type { SqlRow } from './client.js';
import { checkIdentifier, quoteSqlite } from './identifiers.js';
import {
	BLOB_BYTES_SQL,
	CHUNK_MARKER,
	chunkMarker,
	type FoundColumn,
	layoutKey,
	META_TABLE,
	markerChunks,
	STALE_REVISION_MESSAGE,
	sqliteMigrate,
	sqliteShapeProblem,
	sqliteTableNames,
	sqliteTables,
} from './sqlite-schema.js';

export interface SqlStatement {
	sql: string;
	params: unknown[];
}

export type { SqlRow };

/**
 * How one SQLite-family driver runs the store's statements: the one shape besides `SqlClient`
 * (src/sql/client.ts) that runs SQL. It exists because D1 has no interactive transaction, so a
 * batch is the only atomic unit it offers, and the store's writes are statement lists for it; on a
 * Node SQLite connection (`SqliteConnection`, which the tools' `sqliteClient` is built on too) and
 * in a Durable Object (`transactionSync`) a batch runs synchronously inside one transaction, so the
 * statements of two saves running at once on one connection never interleave.
 */
export interface SqliteExecutor {
	readonly backend: string;
	/** Runs the statements in one transaction, all or nothing; returns each statement's rows. */
	batch(statements: SqlStatement[], mode: 'read' | 'write'): Promise<SqlRow[][]>;
	close(): Promise<void>;
	/** Bound parameters allowed in one statement. */
	readonly maxParams: number;
	/** Largest string stored in one column; longer texts are split into parts. */
	readonly maxValueBytes: number;
	/** Budget of bound text per statement, so a batch insert stays within request limits. */
	readonly maxStatementBytes: number;
	/** Why this database must not be written (known once it is open), or null; the store then never writes. */
	readonly readOnlyReason?: string | null;
	/** Driver-specific error mapping (for example SQLITE_TOOBIG). */
	classifyError?(error: unknown, sessionId: string | undefined): FluePersistError | undefined;
}

export interface SqliteLayoutOptions {
	layout: Layout;
	/** Base table name; the blob layout uses it as is, the log layout adds `_log` and `_entries`. */
	table: string;
}

function isStale(error: unknown): boolean {
	for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		if (String((e as { message?: unknown }).message ?? e).includes(STALE_REVISION_MESSAGE)) return true;
	}
	return false;
}

/** Builds the storage adapter for one SQLite-family executor and layout. */
export function createSqliteAdapter(exec: SqliteExecutor, options: SqliteLayoutOptions): StorageAdapter {
	const backend = exec.backend;
	const names = sqliteTableNames(checkIdentifier(options.table, 'table', backend));
	const q = quoteSqlite;
	const layout = options.layout;
	const head = names.head(layout);
	const guard = names.guard(layout);
	const tables = sqliteTables(options.table, layout);
	const trigger = names.trigger(layout);
	/** Read-only and the session tables do not exist: there is nothing stored. */
	let absent = false;
	/** Read-only on Flue's own blob table, which has no chunks table: no session is stored in parts. */
	let chunkless = false;

	const guardStatement = (plan: WritePlan): SqlStatement => ({
		sql: `INSERT INTO ${q(guard)} (session_id, expected) VALUES (?, ?)`,
		params: [plan.id, plan.expectedRev],
	});

	/** `DELETE … WHERE key IN (…)` in statements that respect the parameter limit. */
	function deleteIn(table: string, keyColumn: string, idColumn: string, key: string, ids: string[]): SqlStatement[] {
		const out: SqlStatement[] = [];
		const per = Math.max(1, exec.maxParams - 1);
		for (let i = 0; i < ids.length; i += per) {
			const part = ids.slice(i, i + per);
			out.push({ sql: `DELETE FROM ${q(table)} WHERE ${keyColumn} = ? AND ${idColumn} IN (${part.map(() => '?').join(', ')})`, params: [key, ...part] });
		}
		return out;
	}

	/** Multi-row inserts within the parameter and byte budgets. */
	function insertRows(table: string, columns: string[], rows: unknown[][], sizeOf: (row: unknown[]) => number): SqlStatement[] {
		const out: SqlStatement[] = [];
		const perByParams = Math.max(1, Math.floor(exec.maxParams / columns.length));
		let batch: unknown[][] = [];
		let bytes = 0;
		const flush = () => {
			if (batch.length === 0) return;
			const values = batch.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
			out.push({ sql: `INSERT INTO ${q(table)} (${columns.join(', ')}) VALUES ${values}`, params: batch.flat() });
			batch = [];
			bytes = 0;
		};
		for (const row of rows) {
			const size = sizeOf(row);
			if (batch.length >= perByParams || (batch.length > 0 && bytes + size > exec.maxStatementBytes)) flush();
			batch.push(row);
			bytes += size;
		}
		flush();
		return out;
	}

	function blobWrite(plan: WritePlan): SqlStatement[] {
		const full = plan.full!;
		const stmts: SqlStatement[] = [guardStatement(plan), { sql: `DELETE FROM ${q(names.blobChunks)} WHERE id = ?`, params: [plan.id] }];
		const upsert = `INSERT INTO ${q(names.blob)} (id, data, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`;
		const pieces = splitUtf8(full, exec.maxValueBytes);
		if (pieces.length === 1) {
			stmts.push({ sql: upsert, params: [plan.id, full, plan.rev] });
			return stmts;
		}
		const marker = chunkMarker(pieces.length, utf8Length(full));
		stmts.push({ sql: upsert, params: [plan.id, marker, plan.rev] });
		stmts.push(
			...insertRows(
				names.blobChunks,
				['id', 'seq', 'data'],
				pieces.map((p, seq) => [plan.id, seq, p]),
				(r) => (r[2] as string).length * 3,
			),
		);
		return stmts;
	}

	function logWrite(plan: WritePlan): SqlStatement[] {
		const p = plan.plan!;
		// A header longer than one value goes into parts under the entry id '' (never a real entry id).
		const headerParts = splitUtf8(plan.header, exec.maxValueBytes);
		const headerValue = headerParts.length === 1 ? plan.header : chunkMarker(headerParts.length);
		const stmts: SqlStatement[] = [
			guardStatement(plan),
			{
				sql: `INSERT INTO ${q(names.log)} (id, header, updated_at, entry_count, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET header = excluded.header, updated_at = excluded.updated_at, entry_count = excluded.entry_count, bytes = excluded.bytes`,
				params: [plan.id, headerValue, plan.rev, p.entries.length, plan.bytes],
			},
			{ sql: `DELETE FROM ${q(names.entries)} WHERE session_id = ? AND entry_id = ''`, params: [plan.id] },
		];
		const rows: unknown[][] = [];
		if (headerParts.length > 1) for (const [part, text] of headerParts.entries()) rows.push([plan.id, '', part, headerParts.length, -1, null, text]);
		let toInsert: PositionedEntry[];
		if (p.rewrite) {
			stmts.push({ sql: `DELETE FROM ${q(names.entries)} WHERE session_id = ?`, params: [plan.id] });
			toInsert = p.entries;
		} else {
			stmts.push(...deleteIn(names.entries, 'session_id', 'entry_id', plan.id, [...p.removed, ...p.changed.map((e) => e.id)]));
			toInsert = [...p.changed, ...p.added];
		}
		for (const e of toInsert) {
			const parts = splitUtf8(e.json, exec.maxValueBytes);
			for (const [part, text] of parts.entries()) rows.push([plan.id, e.id, part, parts.length, e.pos, e.parentId, text]);
		}
		stmts.push(...insertRows(names.entries, ['session_id', 'entry_id', 'part', 'parts', 'pos', 'parent_id', 'data'], rows, (r) => (r[6] as string).length * 3));
		return stmts;
	}

	function corrupt(id: string, detail: string): CorruptError {
		return new CorruptError(`session ${JSON.stringify(id)}: ${detail}. Nothing was changed. Run \`flue-persist doctor\` to find and repair the damage.`, {
			backend,
			sessionId: id,
		});
	}

	async function readBlob(id: string): Promise<RawBlobSession | null> {
		const [rows, chunks = []] = await exec.batch(
			[
				{ sql: `SELECT data, updated_at FROM ${q(names.blob)} WHERE id = ?`, params: [id] },
				...(chunkless ? [] : [{ sql: `SELECT seq, data FROM ${q(names.blobChunks)} WHERE id = ? ORDER BY seq`, params: [id] }]),
			],
			'read',
		);
		const row = rows![0];
		if (!row) return null;
		const data = String(row.data);
		const rev = Number(row.updated_at);
		if (!data.startsWith(CHUNK_MARKER)) return { rev, full: data };
		const count = markerChunks(data);
		if (count === null) throw corrupt(id, `the chunk marker in table ${names.blob} is damaged`);
		const parts = chunks!;
		if (parts.length !== count || parts.some((c, i) => Number(c.seq) !== i)) {
			throw corrupt(id, `table ${names.blobChunks} holds ${parts.length} of the ${count} chunks of this session`);
		}
		return { rev, full: parts.map((c) => String(c.data)).join('') };
	}

	async function readLog(id: string): Promise<RawLogSession | null> {
		const [heads, rows] = await exec.batch(
			[
				{ sql: `SELECT header, updated_at, bytes FROM ${q(names.log)} WHERE id = ?`, params: [id] },
				{ sql: `SELECT entry_id, part, parts, pos, parent_id, data FROM ${q(names.entries)} WHERE session_id = ? ORDER BY pos, entry_id, part`, params: [id] },
			],
			'read',
		);
		const h = heads![0];
		if (!h) return null;
		const entries: RawLogSession['entries'] = [];
		let header = String(h.header);
		const headerParts: string[] = [];
		const all = rows!;
		for (let i = 0; i < all.length; ) {
			const first = all[i]!;
			const entryId = String(first.entry_id);
			const parts = Number(first.parts);
			const texts: string[] = [];
			for (let k = 0; k < parts; k++) {
				const r = all[i + k];
				if (!r || String(r.entry_id) !== entryId || Number(r.part) !== k) {
					throw corrupt(id, `entry ${JSON.stringify(entryId)} in table ${names.entries} is missing part ${k} of ${parts}`);
				}
				texts.push(String(r.data));
			}
			if (all[i + parts] && String(all[i + parts]!.entry_id) === entryId) {
				throw corrupt(id, `entry ${JSON.stringify(entryId)} in table ${names.entries} has more parts than the ${parts} it declares`);
			}
			if (entryId === '') headerParts.push(...texts);
			else entries.push({ id: entryId, parentId: first.parent_id == null ? null : String(first.parent_id), pos: Number(first.pos), json: texts.join('') });
			i += parts;
		}
		if (header.startsWith(CHUNK_MARKER)) {
			if (headerParts.length === 0) throw corrupt(id, `the parts of the session header are missing from table ${names.entries}`);
			header = headerParts.join('');
		}
		return { rev: Number(h.updated_at), header, entries, bytes: Number(h.bytes) };
	}

	return {
		backend,
		layout,
		async init() {
			// Read first and write only what is missing, so a read-only database can still be read; and
			// check the shape of every table found under the store's names before anything else, so a
			// store never reads, writes or deletes in an application's table that happens to share a name.
			const objects = [...tables.map((t) => t.name), trigger];
			const marks = objects.map(() => '?').join(', ');
			const [present, columns] = await exec.batch(
				[
					{ sql: `SELECT name, type, tbl_name FROM sqlite_master WHERE name IN (${marks})`, params: objects },
					{
						sql: `SELECT m.name AS tbl, p.name AS name, p.type AS type, p.pk AS pk FROM sqlite_master AS m, pragma_table_info(m.name) AS p WHERE m.type = 'table' AND m.name IN (${marks}) ORDER BY m.name, p.cid`,
						params: objects,
					},
				],
				'read',
			);
			const kinds = new Map(present!.map((r) => [String(r.name), { type: String(r.type), on: String(r.tbl_name) }]));
			const found = new Map<string, FoundColumn[]>();
			for (const r of columns!) {
				const list = found.get(String(r.tbl)) ?? [];
				list.push({ name: String(r.name), type: String(r.type ?? ''), pk: Number(r.pk) });
				found.set(String(r.tbl), list);
			}
			const refuse = (detail: string) =>
				new ConfigError(
					`${detail}. It is not a table this store made, so nothing was read or written. Point the store at another table with the table option, or rename the other table.`,
					{ backend },
				);
			for (const spec of tables) {
				const kind = kinds.get(spec.name);
				if (!kind) continue;
				if (kind.type !== 'table') throw refuse(`${spec.name} is a ${kind.type}, where flue-persist keeps a table`);
				const problem = sqliteShapeProblem(spec, found.get(spec.name) ?? []);
				if (problem) throw refuse(problem);
			}
			const t = kinds.get(trigger);
			if (t && (t.type !== 'trigger' || t.on !== guard))
				throw refuse(`${trigger} is a ${t.type} on ${t.on}, where flue-persist keeps its revision trigger on ${guard}`);
			const have = new Set(kinds.keys());
			const key = layoutKey(options.table, layout);
			let stamped = false;
			let layoutKnown = false;
			if (have.has(META_TABLE)) {
				const [stamp] = await exec.batch([{ sql: `SELECT key, value FROM ${q(META_TABLE)} WHERE key IN ('format_version', ?)`, params: [key] }], 'read');
				for (const row of stamp!) {
					if (row.key === 'format_version') {
						checkFormatStamp(String(row.value), backend);
						stamped = true;
					} else layoutKnown = true;
				}
			}
			if (exec.readOnlyReason) {
				absent = !(layout === 'blob' ? have.has(names.blob) : have.has(names.log) && have.has(names.entries));
				chunkless = layout === 'blob' && !have.has(names.blobChunks);
				return;
			}
			if (stamped && layoutKnown && objects.every((o) => have.has(o))) return;
			await exec.batch(sqliteMigrate(options.table, layout), 'write');
		},
		readOnlyReason: () => exec.readOnlyReason ?? null,
		read: (id) => (absent ? Promise.resolve(null) : layout === 'blob' ? readBlob(id) : readLog(id)),
		async write(plan) {
			try {
				await exec.batch(layout === 'blob' ? blobWrite(plan) : logWrite(plan), 'write');
			} catch (error) {
				if (isStale(error)) throw new StaleRevisionError(plan.id);
				throw error;
			}
		},
		async remove(id) {
			const stmts: SqlStatement[] =
				layout === 'blob'
					? [
							{ sql: `DELETE FROM ${q(names.blob)} WHERE id = ?`, params: [id] },
							{ sql: `DELETE FROM ${q(names.blobChunks)} WHERE id = ?`, params: [id] },
						]
					: [
							{ sql: `DELETE FROM ${q(names.log)} WHERE id = ?`, params: [id] },
							{ sql: `DELETE FROM ${q(names.entries)} WHERE session_id = ?`, params: [id] },
						];
			await exec.batch(stmts, 'write');
		},
		async list({ prefix, limit, cursor }): Promise<ListPage> {
			if (absent) return { sessions: [], cursor: null };
			const size = layout === 'blob' ? BLOB_BYTES_SQL : 'bytes';
			const [rows] = await exec.batch(
				[
					{
						sql: `SELECT id, updated_at, ${size} AS bytes FROM ${q(head)} WHERE id > ? AND substr(id, 1, length(?)) = ? ORDER BY id LIMIT ?`,
						params: [cursor ?? '', prefix, prefix, limit + 1],
					},
				],
				'read',
			);
			const page = rows!.slice(0, limit);
			return {
				sessions: page.map((r) => ({ id: String(r.id), updatedAt: new Date(Number(r.updated_at)).toISOString(), bytes: Number(r.bytes) })),
				cursor: rows!.length > limit ? String(page[page.length - 1]!.id) : null,
			};
		},
		close: () => exec.close(),
		classifyError: exec.classifyError?.bind(exec),
	};
}
