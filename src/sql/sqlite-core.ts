/**
 * The SQL shared by SQLite, Cloudflare D1 and Durable Object SQLite. Each of those backends is a
 * thin `SqliteExecutor` (how to run a list of statements atomically) around this one core.
 *
 * Atomic and conditional without interactive transactions: D1 offers only `batch()`, so every
 * write is one statement list whose first statement is a guard insert. A trigger on the guard
 * table aborts the whole list when the stored revision is not the one the writer read.
 */
import { FORMAT_VERSION, checkFormatStamp, checkIdentifier, splitUtf8 } from '../core/chunks.js';
import { StaleRevisionError, type RawBlobSession, type RawLogSession, type StorageAdapter, type WritePlan } from '../core/engine.js';
import type { PositionedEntry } from '../core/delta.js';
import { utf8Length } from '../core/serialize.js';
import { CorruptError, type FluePersistError } from '../errors.js';
import type { Layout, ListPage } from '../types.js';

export interface SqlStatement {
	sql: string;
	params: unknown[];
}

export type SqlRow = Record<string, unknown>;

/** How one SQLite-family driver runs statements. */
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
	/** Driver-specific error mapping (for example SQLITE_TOOBIG). */
	classifyError?(error: unknown, sessionId: string | undefined): FluePersistError | undefined;
}

export interface SqliteLayoutOptions {
	layout: Layout;
	/** Base table name; the blob layout uses it as is, the log layout adds `_log` and `_entries`. */
	table: string;
}

/** The marker a blob row holds when its session is stored in chunks. */
export const CHUNK_MARKER = '{"flue-persist:chunked":';
const STALE = 'FLUE_PERSIST_STALE_REVISION';
const META = 'flue_persist_meta';

/** Table names a store uses, for tools (doctor, migrate) that read them directly. */
export function sqliteTableNames(table: string) {
	return {
		blob: table,
		blobChunks: `${table}_chunks`,
		log: `${table}_log`,
		entries: `${table}_entries`,
		meta: META,
	};
}

function isStale(error: unknown): boolean {
	for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		if (String((e as { message?: unknown }).message ?? e).includes(STALE)) return true;
	}
	return false;
}

/** Builds the storage adapter for one SQLite-family executor and layout. */
export function createSqliteAdapter(exec: SqliteExecutor, options: SqliteLayoutOptions): StorageAdapter {
	const backend = exec.backend;
	const names = sqliteTableNames(checkIdentifier(options.table, 'table', backend));
	const q = (name: string) => `"${name}"`;
	const layout = options.layout;
	const head = layout === 'blob' ? names.blob : names.log;
	const guard = `${head}_guard`;

	const schema: string[] =
		layout === 'blob'
			? [
					`CREATE TABLE IF NOT EXISTS ${q(names.blob)} (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
					`CREATE TABLE IF NOT EXISTS ${q(names.blobChunks)} (id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (id, seq))`,
				]
			: [
					`CREATE TABLE IF NOT EXISTS ${q(names.log)} (id TEXT PRIMARY KEY, header TEXT NOT NULL, updated_at INTEGER NOT NULL, entry_count INTEGER NOT NULL, bytes INTEGER NOT NULL)`,
					`CREATE TABLE IF NOT EXISTS ${q(names.entries)} (session_id TEXT NOT NULL, entry_id TEXT NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL, pos INTEGER NOT NULL, parent_id TEXT, data TEXT NOT NULL, PRIMARY KEY (session_id, entry_id, part))`,
				];
	schema.push(
		`CREATE TABLE IF NOT EXISTS ${q(guard)} (session_id TEXT NOT NULL, expected INTEGER)`,
		`CREATE TRIGGER IF NOT EXISTS ${q(`${guard}_check`)} BEFORE INSERT ON ${q(guard)} BEGIN ` +
			`SELECT RAISE(ABORT, '${STALE}') WHERE NEW.expected IS NOT (SELECT updated_at FROM ${q(head)} WHERE id = NEW.session_id); ` +
			`SELECT RAISE(IGNORE); END`,
	);

	const guardStatement = (plan: WritePlan): SqlStatement => ({ sql: `INSERT INTO ${q(guard)} (session_id, expected) VALUES (?, ?)`, params: [plan.id, plan.expectedRev] });

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
		const marker = `${CHUNK_MARKER}${JSON.stringify({ chunks: pieces.length, bytes: utf8Length(full) })}}`;
		stmts.push({ sql: upsert, params: [plan.id, marker, plan.rev] });
		stmts.push(...insertRows(names.blobChunks, ['id', 'seq', 'data'], pieces.map((p, seq) => [plan.id, seq, p]), (r) => (r[2] as string).length * 3));
		return stmts;
	}

	function logWrite(plan: WritePlan): SqlStatement[] {
		const p = plan.plan!;
		// A header longer than one value goes into parts under the entry id '' (never a real entry id).
		const headerParts = splitUtf8(plan.header, exec.maxValueBytes);
		const headerValue = headerParts.length === 1 ? plan.header : `${CHUNK_MARKER}${JSON.stringify({ chunks: headerParts.length })}}`;
		const stmts: SqlStatement[] = [
			guardStatement(plan),
			{
				sql: `INSERT INTO ${q(names.log)} (id, header, updated_at, entry_count, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET header = excluded.header, updated_at = excluded.updated_at, entry_count = excluded.entry_count, bytes = excluded.bytes`,
				params: [plan.id, headerValue, plan.rev, p.entries.length, plan.bytes],
			},
			{ sql: `DELETE FROM ${q(names.entries)} WHERE session_id = ? AND entry_id = ''`, params: [plan.id] },
		];
		const rows: unknown[][] = [];
		if (headerParts.length > 1) headerParts.forEach((text, part) => rows.push([plan.id, '', part, headerParts.length, -1, null, text]));
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
			parts.forEach((text, part) => rows.push([plan.id, e.id, part, parts.length, e.pos, e.parentId, text]));
		}
		stmts.push(...insertRows(names.entries, ['session_id', 'entry_id', 'part', 'parts', 'pos', 'parent_id', 'data'], rows, (r) => (r[6] as string).length * 3));
		return stmts;
	}

	function corrupt(id: string, detail: string): CorruptError {
		return new CorruptError(`session ${JSON.stringify(id)}: ${detail}. Nothing was changed. Run \`flue-persist doctor\` to find and repair the damage.`, { backend, sessionId: id });
	}

	async function readBlob(id: string): Promise<RawBlobSession | null> {
		const [rows, chunks] = await exec.batch(
			[
				{ sql: `SELECT data, updated_at FROM ${q(names.blob)} WHERE id = ?`, params: [id] },
				{ sql: `SELECT seq, data FROM ${q(names.blobChunks)} WHERE id = ? ORDER BY seq`, params: [id] },
			],
			'read',
		);
		const row = rows![0];
		if (!row) return null;
		const data = String(row.data);
		const rev = Number(row.updated_at);
		if (!data.startsWith(CHUNK_MARKER)) return { rev, full: data };
		let count: number;
		try {
			count = (JSON.parse(data) as { 'flue-persist:chunked': { chunks: number } })['flue-persist:chunked'].chunks;
		} catch {
			throw corrupt(id, `the chunk marker in table ${names.blob} is damaged`);
		}
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
			// Read first and write only what is missing, so a read-only database can still be read.
			const objects = [META, ...(layout === 'blob' ? [names.blob, names.blobChunks] : [names.log, names.entries]), guard, `${guard}_check`];
			const layoutKey = `layout:${options.table}:${layout}`;
			const [present] = await exec.batch(
				[{ sql: `SELECT name FROM sqlite_master WHERE name IN (${objects.map(() => '?').join(', ')})`, params: objects }],
				'read',
			);
			const have = new Set(present!.map((r) => String(r.name)));
			let stamped = false;
			let layoutKnown = false;
			if (have.has(META)) {
				const [stamp] = await exec.batch([{ sql: `SELECT key, value FROM ${META} WHERE key IN ('format_version', ?)`, params: [layoutKey] }], 'read');
				for (const row of stamp!) {
					if (row.key === 'format_version') {
						checkFormatStamp(String(row.value), backend);
						stamped = true;
					} else layoutKnown = true;
				}
			}
			if (stamped && layoutKnown && objects.every((o) => have.has(o))) return;
			await exec.batch(
				[
					{ sql: `CREATE TABLE IF NOT EXISTS ${META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`, params: [] },
					...schema.map((sql) => ({ sql, params: [] })),
					{ sql: `INSERT OR IGNORE INTO ${META} (key, value) VALUES ('format_version', ?)`, params: [String(FORMAT_VERSION)] },
					{ sql: `INSERT OR REPLACE INTO ${META} (key, value) VALUES (?, ?)`, params: [layoutKey, 'present'] },
				],
				'write',
			);
		},
		read: layout === 'blob' ? readBlob : readLog,
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
			const size =
				layout === 'blob'
					? `CASE WHEN substr(data, 1, ${CHUNK_MARKER.length}) = '${CHUNK_MARKER}' THEN json_extract(data, '$."flue-persist:chunked".bytes') ELSE length(CAST(data AS BLOB)) END`
					: 'bytes';
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
