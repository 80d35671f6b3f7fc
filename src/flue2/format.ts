/**
 * The owner of Flue 2's storage format (format_version 1): what a database holds, its stamp, how
 * a stream's batches are read and their parts joined, submissions, attachments and fold
 * checkpoints. Every command that reads a Flue 2 database asks this module; none writes SQL of
 * its own. It runs SQL through `SqlClient` (src/sql/client.ts) and imports no
 * driver. Reads only: nothing here changes a row.
 */
import { createHash } from 'node:crypto';
import { CorruptError, FormatVersionError } from '../errors.js';
import { catalogTables, type SqlClient, type SqlRow } from '../sql/client.js';
import { FLUE2_CHUNK_MARKER, FLUE2_FORMAT_VERSION, FLUE2_TABLES, type Flue2Table, flue2Name, flue2StreamPath, parseFlue2StreamPath } from './names.js';

/** One result row, by column name. */
export type Flue2Row = SqlRow;

/** Runs SQL on a Flue 2 database: the one SQL interface, `SqlClient`. */
export type Flue2Sql = SqlClient;

/** What a database holds of the Flue 2 format. */
export interface Flue2Inspection {
	/** Every table of the database (or schema). */
	tables: Set<string>;
	/** The `format_version` value in `flue_meta`, or null when there is none. */
	stamp: string | null;
	/** True when the database holds `flue_meta` or Flue 2's stream tables. */
	isFlue2: boolean;
}

const T = FLUE2_TABLES;

function name(sql: Flue2Sql, table: Flue2Table): string {
	return flue2Name(sql.dialect, table, sql.schema);
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** The tables of the database (or schema). */
async function flue2Tables(sql: Flue2Sql): Promise<Set<string>> {
	return new Set((await flue2Catalog(sql)).keys());
}

/** Reads which Flue 2 tables a database holds and its stamp, without judging either. */
export async function inspectFlue2(sql: Flue2Sql): Promise<Flue2Inspection> {
	const tables = await flue2Tables(sql);
	let stamp: string | null = null;
	if (tables.has(T.meta)) {
		const key = sql.dialect === 'mysql' ? '`key`' : 'key';
		const rows = await sql.query(`SELECT value FROM ${name(sql, T.meta)} WHERE ${key} = ?`, ['format_version']);
		stamp = rows.length > 0 ? str(rows[0]!.value) : null;
	}
	return { tables, stamp, isFlue2: isFlue2Tables(tables) };
}

/** Whether these tables include Flue's conversation stream tables (streams and batches): what the runtime creates at its start. */
export function hasFlue2StreamTables(tables: { has(name: string): boolean }): boolean {
	return tables.has(T.streams) && tables.has(T.batches);
}

/** Whether these are a Flue 2 database's tables: its stamp table, or its stream tables. */
export function isFlue2Tables(tables: { has(name: string): boolean }): boolean {
	return tables.has(T.meta) || hasFlue2StreamTables(tables);
}

/**
 * Refuses a database whose stamp this code does not know. `where` names the database (its URL
 * with the password hidden).
 */
export function checkFlue2Stamp(inspection: Flue2Inspection, where: string): void {
	if (inspection.stamp === FLUE2_FORMAT_VERSION) return;
	if (inspection.stamp === null) {
		throw new FormatVersionError(
			`${where} holds Flue 2 tables but no format stamp (flue_meta has no format_version), so its format is unknown. flue-persist reads Flue 2 format_version ${FLUE2_FORMAT_VERSION}; start the Flue app once to stamp it, or run \`flue-persist doctor\` on it.`,
			{ backend: 'flue2' },
		);
	}
	const newer = /^\d+$/.test(inspection.stamp) && Number(inspection.stamp) > Number(FLUE2_FORMAT_VERSION);
	throw new FormatVersionError(
		`${where} is a Flue 2 database stamped format_version ${JSON.stringify(inspection.stamp)}, which this flue-persist does not read (it reads format_version ${FLUE2_FORMAT_VERSION}). ${newer ? 'It was written by a newer Flue: upgrade flue-persist.' : 'Nothing was read or changed.'}`,
		{ backend: 'flue2' },
	);
}

// ---- streams ---------------------------------------------------------------------------------

/** One row of `flue_conversation_streams`: an agent instance's conversation stream. */
export interface Flue2Stream {
	path: string;
	/** From the path; null when the path is not `agents/<agent>/<id>`. */
	agent: string | null;
	instanceId: string | null;
	identityJson: string;
	/** The offset the next batch gets: the stream holds batches 0 … nextOffset - 1. */
	nextOffset: number;
	producerId: string | null;
	producerEpoch: number;
	nextProducerSequence: number;
	incarnation: string;
}

/** How an instance is named to a person and in exports: `<agent>/<instanceId>`, or the stream path when it is not an agent instance's. */
export function flue2InstanceName(stream: Pick<Flue2Stream, 'agent' | 'instanceId' | 'path'>): string {
	return stream.agent !== null && stream.instanceId !== null ? `${stream.agent}/${stream.instanceId}` : stream.path;
}

function toStream(r: Flue2Row): Flue2Stream {
	const path = String(r.path);
	const parsed = parseFlue2StreamPath(path);
	return {
		path,
		agent: parsed?.agent ?? null,
		instanceId: parsed?.instanceId ?? null,
		identityJson: str(r.identity_json) ?? '',
		nextOffset: num(r.next_offset),
		producerId: str(r.producer_id),
		producerEpoch: num(r.producer_epoch),
		nextProducerSequence: num(r.next_producer_sequence),
		incarnation: str(r.incarnation) ?? '',
	};
}

const STREAM_COLUMNS = 'path, identity_json, next_offset, producer_id, producer_epoch, next_producer_sequence, incarnation';

/**
 * Every stream of the database, ordered by path. A database that holds only the stamp (what
 * `reset` leaves, until the runtime's next start creates its tables) has none.
 */
export async function listFlue2Streams(sql: Flue2Sql): Promise<Flue2Stream[]> {
	if (!(await hasTable(sql, T.streams))) return [];
	const rows = await sql.query(`SELECT ${STREAM_COLUMNS} FROM ${name(sql, T.streams)}`);
	return rows.map(toStream).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The stream of one instance, or null. */
export async function getFlue2Stream(sql: Flue2Sql, path: string): Promise<Flue2Stream | null> {
	if (!(await hasTable(sql, T.streams))) return null;
	const rows = await sql.query(`SELECT ${STREAM_COLUMNS} FROM ${name(sql, T.streams)} WHERE path = ?`, [path]);
	return rows.length > 0 ? toStream(rows[0]!) : null;
}

// ---- batches ---------------------------------------------------------------------------------

/** One batch of a stream, with its parts joined. */
export interface Flue2Batch {
	path: string;
	seq: number;
	producerId: string;
	producerEpoch: number;
	producerSequence: number;
	submissionId: string | null;
	attemptId: string | null;
	/** The batch's JSON text (an array of records), exactly as the runtime wrote it. */
	text: string;
	/** How it is stored: parts (0 when inline) and the UTF-8 bytes of the row and its parts. */
	parts: number;
	storedBytes: number;
}

/** The declared part count when `data` is the marker of a split value, else null. */
function flue2ChunkMarker(data: string): number | null {
	if (!data.startsWith(`{"${FLUE2_CHUNK_MARKER}"`)) return null;
	try {
		const parsed = JSON.parse(data) as Record<string, unknown>;
		const count = parsed[FLUE2_CHUNK_MARKER];
		return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : null;
	} catch {
		return null;
	}
}

/**
 * Joins stored parts in index order. Throws CorruptError naming `what` when a part is missing,
 * repeated or beyond the declared count: a value with a hole must never be read as whole.
 */
function assembleFlue2Parts(what: string, declared: number, parts: Array<{ index: number; data: string }>): string {
	const sorted = [...parts].sort((a, b) => a.index - b.index);
	const indexes = sorted.map((p) => p.index);
	const complete = sorted.length === declared && indexes.every((ix, i) => ix === i);
	if (!complete) {
		const missing: number[] = [];
		for (let i = 0; i < declared; i++) if (!indexes.includes(i)) missing.push(i);
		const extra = indexes.filter((ix) => ix < 0 || ix >= declared);
		throw new CorruptError(
			`${what} is stored in ${declared} parts but ${missing.length > 0 ? `part${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing` : `has parts beyond its count (${extra.join(', ')})`}. Run \`flue-persist doctor\` on the database.`,
			{ backend: 'flue2' },
		);
	}
	return sorted.map((p) => p.data).join('');
}

/** The parts of one split batch, as stored. */
async function readFlue2BatchParts(sql: Flue2Sql, path: string, seq: number): Promise<Array<{ index: number; count: number; data: string }>> {
	if (!(await hasTable(sql, T.batchChunks))) return [];
	const rows = await sql.query(`SELECT chunk_index, chunk_count, data FROM ${name(sql, T.batchChunks)} WHERE path = ? AND seq = ? ORDER BY chunk_index`, [
		path,
		seq,
	]);
	return rows.map((r) => ({ index: num(r.chunk_index), count: num(r.chunk_count), data: str(r.data) ?? '' }));
}

const catalogs = new WeakMap<Flue2Sql, Promise<Map<string, Set<string>>>>();
/**
 * The catalog (tables and their columns), read once per connection or transaction object: the
 * commands change no table, but for `reset` and the stamp repair, which read `catalogTables` afresh.
 */
export function flue2Catalog(sql: Flue2Sql): Promise<Map<string, Set<string>>> {
	let found = catalogs.get(sql);
	if (!found) {
		found = catalogTables(sql);
		catalogs.set(sql, found);
	}
	return found;
}
async function hasTable(sql: Flue2Sql, table: Flue2Table): Promise<boolean> {
	return (await flue2Catalog(sql)).has(table);
}
/**
 * Whether a table has a column. The adapters differ in where large values go: SQLite keeps parts
 * in `*_chunks` tables (`chunk_count` columns), Postgres, libSQL and MySQL keep them inline
 * (`flue_attachments.bytes`, a checkpoint's `data` always set).
 */
async function hasColumn(sql: Flue2Sql, table: Flue2Table, column: string): Promise<boolean> {
	return (await flue2Catalog(sql)).get(table)?.has(column) ?? false;
}

const BATCH_PAGE = 200;

/**
 * The batches of a stream in offset order, parts joined. `onDamage` receives a batch whose parts
 * cannot be joined (it is then skipped); without it the CorruptError is thrown. `after`: only batches
 * past this offset.
 */
export async function* readFlue2Batches(
	sql: Flue2Sql,
	path: string,
	options: { onDamage?: (seq: number, error: CorruptError) => void; after?: number } = {},
): AsyncGenerator<Flue2Batch> {
	let after = options.after ?? -1;
	for (;;) {
		const rows = await sql.query(
			`SELECT seq, producer_id, producer_epoch, producer_sequence, data, submission_id, attempt_id FROM ${name(sql, T.batches)} WHERE path = ? AND seq > ? ORDER BY seq LIMIT ${BATCH_PAGE}`,
			[path, after],
		);
		for (const r of rows) {
			const seq = num(r.seq);
			after = seq;
			const data = str(r.data) ?? '';
			let text = data;
			let parts = 0;
			let storedBytes = Buffer.byteLength(data, 'utf8');
			const declared = flue2ChunkMarker(data);
			if (declared !== null) {
				const stored = await readFlue2BatchParts(sql, path, seq);
				try {
					text = assembleFlue2Parts(`batch ${seq} of stream ${path}`, declared, stored);
				} catch (error) {
					if (!(error instanceof CorruptError) || !options.onDamage) throw error;
					options.onDamage(seq, error);
					continue;
				}
				parts = stored.length;
				storedBytes += stored.reduce((n, p) => n + Buffer.byteLength(p.data, 'utf8'), 0);
			}
			yield {
				path,
				seq,
				producerId: str(r.producer_id) ?? '',
				producerEpoch: num(r.producer_epoch),
				producerSequence: num(r.producer_sequence),
				submissionId: str(r.submission_id),
				attemptId: str(r.attempt_id),
				text,
				parts,
				storedBytes,
			};
		}
		if (rows.length < BATCH_PAGE) return;
	}
}

// ---- records ---------------------------------------------------------------------------------

/** A conversation record: `{ v: 1, id, type, conversationId, harness, session, timestamp, … }`. */
export interface Flue2Record {
	v: number;
	id: string;
	type: string;
	conversationId: string;
	harness?: string;
	session?: string;
	timestamp?: string;
	[key: string]: unknown;
}

/** The record version this code decodes. */
const FLUE2_RECORD_VERSION = 1;

/** A batch's records, or why they cannot be read. Records of another `v` are returned as they are, flagged. */
export function decodeFlue2Batch(text: string, where: string): { records: Flue2Record[]; unsupported: Flue2Record[] } {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch (cause) {
		throw new CorruptError(`${where} is not JSON: ${(cause as Error).message}. Run \`flue-persist doctor\` on the database.`, { backend: 'flue2', cause });
	}
	if (!Array.isArray(parsed)) throw new CorruptError(`${where} is not an array of records. Run \`flue-persist doctor\` on the database.`, { backend: 'flue2' });
	const records: Flue2Record[] = [];
	const unsupported: Flue2Record[] = [];
	for (const item of parsed) {
		if (typeof item !== 'object' || item === null || typeof (item as Flue2Record).type !== 'string') {
			throw new CorruptError(`${where} holds a record that is not an object with a type. Run \`flue-persist doctor\` on the database.`, { backend: 'flue2' });
		}
		const record = item as Flue2Record;
		records.push(record);
		if (record.v !== FLUE2_RECORD_VERSION) unsupported.push(record);
	}
	return { records, unsupported };
}

// ---- submissions -----------------------------------------------------------------------------

/** One row of `flue_agent_submissions`, without its payload. */
export interface Flue2Submission {
	submissionId: string;
	sessionKey: string;
	/** From the session key `agent-session:[agent, instanceId, harness, session]`; null when it is not one. */
	agent: string | null;
	instanceId: string | null;
	kind: string;
	status: string;
	acceptedAt: number;
	settledAt: number | null;
	error: string | null;
}

/** Reads the agent and instance out of a submission's session key. */
export function parseFlue2SessionKey(key: string): { agent: string; instanceId: string; harness: string; session: string } | null {
	const prefix = 'agent-session:';
	if (!key.startsWith(prefix)) return null;
	try {
		const parts = JSON.parse(key.slice(prefix.length)) as unknown;
		if (!Array.isArray(parts) || parts.length !== 4 || !parts.every((p) => typeof p === 'string')) return null;
		return { agent: parts[0] as string, instanceId: parts[1] as string, harness: parts[2] as string, session: parts[3] as string };
	} catch {
		return null;
	}
}

/**
 * Narrows a query of `flue_agent_submissions` to the session keys of one instance. The runtime
 * writes a key as `agent-session:` + JSON.stringify([agent, instanceId, harness, session]), so every
 * key of the instance starts with the same text; LIKE may also keep a key that differs in case
 * only, which `isFlue2InstanceKey` then drops.
 */
export function flue2InstanceKeyCondition(agent: string, instanceId: string): { where: string; params: [string] } {
	const start = `agent-session:${JSON.stringify([agent, instanceId]).slice(0, -1)},`;
	return { where: "session_key LIKE ? ESCAPE '!'", params: [`${start.replace(/[!%_]/g, (c) => `!${c}`)}%`] };
}

/** Whether a submission's session key is one of this instance's. */
export function isFlue2InstanceKey(sessionKey: string, agent: string, instanceId: string): boolean {
	const key = parseFlue2SessionKey(sessionKey);
	return key !== null && key.agent === agent && key.instanceId === instanceId;
}

/** The stream paths of the instances with a submission the runtime has not settled: the app may be working on them. */
export async function flue2UnsettledPaths(sql: Flue2Sql): Promise<Set<string>> {
	return new Set(
		(await listFlue2Submissions(sql)).filter((s) => s.status !== 'settled' && s.agent !== null).map((s) => flue2StreamPath(s.agent!, s.instanceId!)),
	);
}

/** Every submission (payloads left out), in acceptance order. */
export async function listFlue2Submissions(sql: Flue2Sql): Promise<Flue2Submission[]> {
	if (!(await hasTable(sql, T.submissions))) return [];
	const rows = await sql.query(
		`SELECT submission_id, session_key, kind, status, accepted_at, settled_at, error FROM ${name(sql, T.submissions)} ORDER BY sequence`,
	);
	return rows.map((r) => {
		const sessionKey = str(r.session_key) ?? '';
		const parsed = parseFlue2SessionKey(sessionKey);
		return {
			submissionId: String(r.submission_id),
			sessionKey,
			agent: parsed?.agent ?? null,
			instanceId: parsed?.instanceId ?? null,
			kind: str(r.kind) ?? '',
			status: str(r.status) ?? '',
			acceptedAt: num(r.accepted_at),
			settledAt: r.settled_at === null || r.settled_at === undefined ? null : num(r.settled_at),
			error: str(r.error),
		};
	});
}

/** The full rows of an instance's settled submissions (payload and settlement record included), for export. */
export async function readFlue2SettledSubmissions(sql: Flue2Sql, agent: string, instanceId: string): Promise<Flue2Row[]> {
	if (!(await hasTable(sql, T.submissions))) return [];
	const keys = flue2InstanceKeyCondition(agent, instanceId);
	const rows = await sql.query(`SELECT * FROM ${name(sql, T.submissions)} WHERE status = ? AND ${keys.where} ORDER BY sequence`, ['settled', ...keys.params]);
	return rows
		.filter((r) => isFlue2InstanceKey(str(r.session_key) ?? '', agent, instanceId))
		.map((r) =>
			Object.fromEntries(
				Object.entries(r).map(([k, v]) => [
					k,
					SUBMISSION_INTEGERS.has(k) && v !== null && v !== undefined ? Number(v) : Buffer.isBuffer(v) ? v.toString('utf8') : v,
				]),
			),
		);
}

/** The integer columns of `flue_agent_submissions`: pg returns BIGINT as text, the export holds numbers whatever the backend. */
const SUBMISSION_INTEGERS = new Set([
	'sequence',
	'accepted_at',
	'canonical_ready_at',
	'input_applied_at',
	'abort_requested_at',
	'started_at',
	'settled_at',
	'attempt_count',
	'max_attempts',
	'timeout_at',
	'lease_expires_at',
]);

// ---- attachments -----------------------------------------------------------------------------

/** One attachment of a stream, bytes joined. */
export interface Flue2Attachment {
	streamPath: string;
	attachmentId: string;
	mimeType: string;
	byteSize: number;
	digest: string;
	conversationId: string;
	createdAt: number;
	/** Parts the bytes are stored in (0 when inline, as on MySQL). */
	parts: number;
	bytes: Buffer;
}

/** The attachments of a stream (or of every stream when `path` is null), bytes joined and checked against their size. */
export async function readFlue2Attachments(
	sql: Flue2Sql,
	path: string | null,
	options: { onDamage?: (attachmentId: string, error: CorruptError) => void } = {},
): Promise<Flue2Attachment[]> {
	if (!(await hasTable(sql, T.attachments))) return [];
	const inline = await hasColumn(sql, T.attachments, 'bytes');
	const columns = `stream_path, attachment_id, mime_type, byte_size, digest, conversation_id, created_at, ${inline ? 'bytes' : 'chunk_count'}`;
	const rows = await sql.query(
		`SELECT ${columns} FROM ${name(sql, T.attachments)}${path === null ? '' : ' WHERE stream_path = ?'} ORDER BY stream_path, attachment_id`,
		path === null ? [] : [path],
	);
	const out: Flue2Attachment[] = [];
	for (const r of rows) {
		const base = {
			streamPath: String(r.stream_path),
			attachmentId: String(r.attachment_id),
			mimeType: str(r.mime_type) ?? '',
			byteSize: num(r.byte_size),
			digest: str(r.digest) ?? '',
			conversationId: str(r.conversation_id) ?? '',
			createdAt: num(r.created_at),
		};
		let bytes: Buffer;
		let parts = 0;
		try {
			if (inline) bytes = Buffer.from((r.bytes as Uint8Array | null) ?? Buffer.alloc(0));
			else {
				const declared = num(r.chunk_count);
				const chunks = await sql.query(
					`SELECT chunk_index, bytes FROM ${name(sql, T.attachmentChunks)} WHERE stream_path = ? AND attachment_id = ? ORDER BY chunk_index`,
					[base.streamPath, base.attachmentId],
				);
				const what = `attachment ${base.attachmentId} of stream ${base.streamPath}`;
				// The same completeness rule as text parts; bytes travel as latin1 text through it unchanged.
				const joined = assembleFlue2Parts(
					what,
					declared,
					chunks.map((c) => ({ index: num(c.chunk_index), data: Buffer.from(c.bytes as Uint8Array).toString('latin1') })),
				);
				bytes = Buffer.from(joined, 'latin1');
				parts = chunks.length;
			}
			if (bytes.length !== base.byteSize) {
				throw new CorruptError(`attachment ${base.attachmentId} of stream ${base.streamPath} declares ${base.byteSize} bytes but holds ${bytes.length}.`, {
					backend: 'flue2',
				});
			}
			// The runtime's digest is the SHA-256 of the bytes, in lowercase hex.
			const digest = createHash('sha256').update(bytes).digest('hex');
			if (digest !== base.digest) {
				throw new CorruptError(
					`attachment ${base.attachmentId} of stream ${base.streamPath} does not match its digest (stored ${base.digest}, bytes hash to ${digest}).`,
					{ backend: 'flue2' },
				);
			}
		} catch (error) {
			if (!(error instanceof CorruptError) || !options.onDamage) throw error;
			options.onDamage(base.attachmentId, error);
			continue;
		}
		out.push({ ...base, parts, bytes });
	}
	return out;
}

// ---- fold checkpoints ------------------------------------------------------------------------

/** A stream's fold checkpoint: a cache of the runtime's folded state, rebuilt from the stream when absent. */
export interface Flue2Checkpoint {
	path: string;
	headOffset: string;
	incarnation: string;
	formatVersion: number;
	/** The checkpoint's text, parts joined. */
	text: string;
	parts: number;
}

/** The fold checkpoint of a stream, or null when there is none. Throws CorruptError when its parts are incomplete. */
export async function readFlue2Checkpoint(sql: Flue2Sql, path: string): Promise<Flue2Checkpoint | null> {
	if (!(await hasTable(sql, T.checkpoints))) return null;
	const chunked = await hasColumn(sql, T.checkpoints, 'chunk_count');
	const rows = await sql.query(
		`SELECT path, head_offset, incarnation, format_version, data${chunked ? ', chunk_count' : ''} FROM ${name(sql, T.checkpoints)} WHERE path = ?`,
		[path],
	);
	if (rows.length === 0) return null;
	const r = rows[0]!;
	let text = str(r.data);
	let parts = 0;
	if (text === null) {
		const declared = chunked ? num(r.chunk_count) : 0;
		const stored =
			chunked && (await hasTable(sql, T.checkpointChunks))
				? await sql.query(`SELECT chunk_index, data FROM ${name(sql, T.checkpointChunks)} WHERE path = ? ORDER BY chunk_index`, [path])
				: [];
		text = assembleFlue2Parts(
			`the fold checkpoint of stream ${path}`,
			declared,
			stored.map((c) => ({ index: num(c.chunk_index), data: str(c.data) ?? '' })),
		);
		parts = stored.length;
	}
	return { path, headOffset: str(r.head_offset) ?? '', incarnation: str(r.incarnation) ?? '', formatVersion: num(r.format_version), text, parts };
}

// ---- whole-database scans (doctor) ------------------------------------------------------------

/** The distinct stream paths that have batches, a checkpoint or attachments, per table (parts are checked against their rows apart). */
export async function flue2PathsByTable(sql: Flue2Sql): Promise<Map<Flue2Table, Set<string>>> {
	const out = new Map<Flue2Table, Set<string>>();
	const scan = async (table: Flue2Table, column: 'path' | 'stream_path') => {
		if (!(await hasTable(sql, table))) return;
		const rows = await sql.query(`SELECT DISTINCT ${column} AS p FROM ${name(sql, table)}`);
		out.set(table, new Set(rows.map((r) => String(r.p))));
	};
	await scan(T.batches, 'path');
	await scan(T.checkpoints, 'path');
	await scan(T.attachments, 'stream_path');
	return out;
}

/** Batch parts whose batch row is not a split batch of the same path and seq (a leftover of a failed write or a deletion). */
export async function flue2StrayBatchParts(sql: Flue2Sql): Promise<Array<{ path: string; seq: number; parts: number }>> {
	if (!(await hasTable(sql, T.batchChunks))) return [];
	const rows = await sql.query(
		`SELECT c.path AS path, c.seq AS seq, count(*) AS n FROM ${name(sql, T.batchChunks)} c LEFT JOIN ${name(sql, T.batches)} b ON b.path = c.path AND b.seq = c.seq WHERE b.path IS NULL GROUP BY c.path, c.seq ORDER BY c.path, c.seq`,
	);
	return rows.map((r) => ({ path: String(r.path), seq: num(r.seq), parts: num(r.n) }));
}

/** Attachment parts without their attachment row. */
export async function flue2StrayAttachmentParts(sql: Flue2Sql): Promise<Array<{ path: string; attachmentId: string; parts: number }>> {
	if (!(await hasTable(sql, T.attachmentChunks))) return [];
	const rows = await sql.query(
		`SELECT c.stream_path AS path, c.attachment_id AS a, count(*) AS n FROM ${name(sql, T.attachmentChunks)} c LEFT JOIN ${name(sql, T.attachments)} m ON m.stream_path = c.stream_path AND m.attachment_id = c.attachment_id WHERE m.stream_path IS NULL GROUP BY c.stream_path, c.attachment_id`,
	);
	return rows.map((r) => ({ path: String(r.path), attachmentId: String(r.a), parts: num(r.n) }));
}
