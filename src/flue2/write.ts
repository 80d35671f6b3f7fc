/**
 * Writing Flue 2 databases (format_version 1): putting a whole agent instance into a database
 * (import, copy) and taking one out (prune, overwrite). Every write of the tools goes through
 * here, one instance per transaction, so that a reader — the runtime included — sees an
 * instance either whole or not at all. Names reach SQL only through `flue2Name()` and
 * `flue2SubmissionColumn()`; values are bound.
 */
import { createHash } from 'node:crypto';
import { ConfigError, CorruptError } from '../errors.js';
import { catalogTables, type SqlClient } from '../sql/client.js';
import { quoteMysql } from '../sql/identifiers.js';
import { canonicalJson } from '../tools/export-format.js';
import { exportFlue2Instance, type Flue2ExportData, type Flue2ExportLine, flue2ExportChecksum } from './export.js';
import {
	decodeFlue2Batch,
	type Flue2Row,
	type Flue2Sql,
	type Flue2Stream,
	flue2Catalog,
	flue2InstanceKeyCondition,
	getFlue2Stream,
	isFlue2InstanceKey,
	readFlue2Batches,
} from './format.js';
import {
	FLUE2_ATTACHMENT_PART_BYTES,
	FLUE2_CHUNK_MARKER,
	FLUE2_FORMAT_VERSION,
	FLUE2_PART_LENGTH,
	FLUE2_PART_LIMIT,
	FLUE2_SUBMISSION_COLUMNS,
	FLUE2_TABLES,
	type Flue2Table,
	flue2Name,
	flue2ResetMysqlName,
	flue2ResetName,
	flue2SubmissionColumn,
	parseFlue2StreamPath,
} from './names.js';

/** A Flue 2 database the tools may write: the one SQL interface, whose `transaction` holds one connection. */
export type Flue2WriteSql = SqlClient;

/** What happened to one instance written into a database. */
export type Flue2WriteOutcome =
	/** Written; the target did not hold it. */
	| 'copied'
	/** The target already held the same content (a resumed copy or import). */
	| 'unchanged'
	/** The target holds the instance with other content and `overwrite` was not given: left as it was. */
	| 'skipped'
	/** The target's instance was replaced (`overwrite`). */
	| 'replaced';

const T = FLUE2_TABLES;

function name(sql: Flue2Sql, table: Flue2Table): string {
	return flue2Name(sql.dialect, table, sql.schema);
}

/**
 * Splits a text into stored parts the way the runtime does: parts of FLUE2_PART_LENGTH code
 * units, never cutting a surrogate pair (a lone surrogate does not survive a TEXT column).
 */
function splitFlue2Text(text: string): string[] {
	const parts: string[] = [];
	let start = 0;
	while (start < text.length) {
		let end = Math.min(start + FLUE2_PART_LENGTH, text.length);
		const last = text.charCodeAt(end - 1);
		if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += 1;
		parts.push(text.slice(start, end));
		start = end;
	}
	return parts;
}

/**
 * The part of an instance the runtime reads back, for comparing a source with a target: the
 * stream's identity, offsets and incarnation, every batch, attachment and settled submission.
 * Left out: the producer claim (fenced on write, see `writeFlue2Instance`), a submission's
 * `sequence` (a queue position the target assigns), and the fold checkpoint (a cache).
 */
export function flue2ContentChecksum(instance: string, data: Flue2ExportData, submissionColumns: ReadonlySet<string>): string {
	const submissions = data.submissions
		.map((row) =>
			Object.fromEntries(
				[...submissionColumns]
					.filter((c) => c !== 'sequence' && c in row)
					.sort()
					.map((c) => [c, row[c] ?? null]),
			),
		)
		.sort((a, b) => (String(a.submission_id) < String(b.submission_id) ? -1 : 1));
	const content = {
		stream: { path: data.stream.path, identityJson: data.stream.identityJson, nextOffset: data.stream.nextOffset, incarnation: data.stream.incarnation },
		batches: data.batches,
		attachments: data.attachments,
		submissions,
	};
	return `sha256:${createHash('sha256').update(canonicalJson({ instance, content })).digest('hex')}`;
}

/**
 * Checks an instance line before anything is written: its checksum, and that its batches are
 * exactly 0 … nextOffset − 1 (a stream with a hole, or one that grew while it was read, is never
 * written).
 */
export function checkFlue2ExportLine(line: Flue2ExportLine): void {
	if (flue2ExportChecksum(line.instance, line.data) !== line.checksum) {
		throw new CorruptError(`instance ${line.instance}: its checksum does not match its content, so it was not written. Export it again.`, { backend: 'flue2' });
	}
	const { stream, batches } = line.data;
	const contiguous = batches.length === stream.nextOffset && batches.every((b, i) => b.seq === i);
	if (!contiguous) {
		throw new CorruptError(
			`instance ${line.instance}: its stream says it holds batches 0 … ${stream.nextOffset - 1} but ${batches.length} batch${batches.length === 1 ? ' was' : 'es were'} read${batches.length > 0 ? ` (${batches[0]!.seq} … ${batches.at(-1)!.seq})` : ''}, so it was not written. Stop the app writing it and run again, or run \`flue-persist doctor\` on the source.`,
			{ backend: 'flue2' },
		);
	}
	if (parseFlue2StreamPath(stream.path) === null)
		throw new ConfigError(`instance ${line.instance}: ${JSON.stringify(stream.path)} is not an agent instance's stream path; it was not written.`);
}

async function submissionColumnsOf(sql: Flue2Sql): Promise<Set<string>> {
	const columns = (await flue2Catalog(sql)).get(T.submissions) ?? new Set<string>();
	return new Set(FLUE2_SUBMISSION_COLUMNS.filter((c) => columns.has(c)));
}

/** The submissions of one instance, by the agent and instance id in their session key. */
async function instanceSubmissions(tx: Flue2Sql, agent: string, instanceId: string): Promise<Array<{ submissionId: string; status: string }>> {
	const keys = flue2InstanceKeyCondition(agent, instanceId);
	const rows = await tx.query(`SELECT submission_id, session_key, status FROM ${name(tx, T.submissions)} WHERE ${keys.where}`, keys.params);
	return rows
		.filter((r) => isFlue2InstanceKey(String(r.session_key ?? ''), agent, instanceId))
		.map((r) => ({ submissionId: String(r.submission_id), status: String(r.status) }));
}

/**
 * Deletes every row of one instance inside the caller's transaction: its stream, batches and
 * their parts, fold checkpoint and its parts, attachments and their parts, and its settled
 * submissions with their chunks. Refuses (throws) when the instance has a submission the runtime
 * has not settled: a runtime may be working on it.
 */
async function deleteFlue2InstanceRows(tx: Flue2Sql, path: string): Promise<{ submissions: number }> {
	const parsed = parseFlue2StreamPath(path);
	if (!parsed) throw new ConfigError(`${JSON.stringify(path)} is not an agent instance's stream path; nothing was deleted.`);
	const tables = await flue2Catalog(tx);
	let submissions = 0;
	if (tables.has(T.submissions)) {
		const rows = await instanceSubmissions(tx, parsed.agent, parsed.instanceId);
		const open = rows.filter((r) => r.status !== 'settled');
		if (open.length > 0)
			throw new Flue2OpenSubmissionsError(
				path,
				open.map((r) => r.submissionId),
			);
		for (const r of rows) {
			if (tables.has(T.submissionChunks)) await tx.query(`DELETE FROM ${name(tx, T.submissionChunks)} WHERE submission_id = ?`, [r.submissionId]);
			await tx.query(`DELETE FROM ${name(tx, T.submissions)} WHERE submission_id = ?`, [r.submissionId]);
			submissions++;
		}
	}
	const byPath: Array<[Flue2Table, 'path' | 'stream_path']> = [
		[T.batchChunks, 'path'],
		[T.batches, 'path'],
		[T.checkpointChunks, 'path'],
		[T.checkpoints, 'path'],
		[T.attachmentChunks, 'stream_path'],
		[T.attachments, 'stream_path'],
		[T.streams, 'path'],
	];
	for (const [table, column] of byPath) if (tables.has(table)) await tx.query(`DELETE FROM ${name(tx, table)} WHERE ${column} = ?`, [path]);
	return { submissions };
}

/**
 * Locks an instance's stream row until the caller's transaction ends, as the runtime's own
 * append does first (`SELECT … FOR UPDATE` on that row in its Postgres and MySQL adapters): an
 * append that started before waits for this transaction, and one that started earlier is
 * committed before anything here is read. Must be the transaction's first statement, so that a
 * MySQL transaction's snapshot is taken after the lock. On SQLite the transaction began with
 * `BEGIN IMMEDIATE` and already holds the database's write lock.
 */
async function lockFlue2Stream(tx: Flue2Sql, path: string): Promise<void> {
	if (tx.dialect === 'sqlite') return;
	await tx.query(`SELECT path FROM ${name(tx, T.streams)} WHERE path = ? FOR UPDATE`, [path]);
}

/** An instance with submissions the runtime has not settled: it is not deleted or replaced. */
export class Flue2OpenSubmissionsError extends ConfigError {
	constructor(
		readonly path: string,
		readonly submissionIds: string[],
	) {
		super(
			`instance ${path.replace(/^agents\//, '')} has ${submissionIds.length} submission${submissionIds.length === 1 ? '' : 's'} the runtime has not settled (${submissionIds.join(', ')}); it was left as it is. Let the app finish them, then run again.`,
		);
		this.name = 'Flue2OpenSubmissionsError';
	}
}

/**
 * Writes one exported instance into a database, in one transaction, and reads it back before
 * committing: the transaction is rolled back unless what the target then holds has the same
 * content checksum as the line. Ids, offsets, producer columns of every batch and the stream's
 * incarnation (the instance `uid`) are kept.
 *
 * Fencing: the stream row is written with no producer and `producer_epoch` one above the
 * source's. The runtime appends only under the `(producer_id, producer_epoch, incarnation)` it
 * acquired, and acquiring bumps the epoch; so no claim taken on the source — by a runtime still
 * running there — can append at the target, and a runtime starting on the target acquires a new
 * epoch above every one the copied batches carry.
 */
export async function writeFlue2Instance(sql: Flue2WriteSql, line: Flue2ExportLine, options: { overwrite?: boolean } = {}): Promise<Flue2WriteOutcome> {
	checkFlue2ExportLine(line);
	const { data } = line;
	return sql.transaction(async (tx) => {
		await lockFlue2Stream(tx, data.stream.path);
		const catalog = await flue2Catalog(tx);
		const columns = await submissionColumnsOf(tx);
		const want = flue2ContentChecksum(line.instance, data, columns);
		let outcome: Flue2WriteOutcome = 'copied';
		const existing = await getFlue2Stream(tx, data.stream.path);
		if (existing) {
			const held = await exportFlue2Instance(tx, existing);
			if (flue2ContentChecksum(line.instance, held.data, columns) === want) return 'unchanged';
			if (!options.overwrite) return 'skipped';
			await deleteFlue2InstanceRows(tx, data.stream.path);
			outcome = 'replaced';
		}
		const s = data.stream;
		await tx.query(
			`INSERT INTO ${name(tx, T.streams)} (path, identity_json, next_offset, producer_id, producer_epoch, next_producer_sequence, incarnation) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			[s.path, s.identityJson, s.nextOffset, null, s.producerEpoch + 1, 0, s.incarnation],
		);
		const batchParts = catalog.has(T.batchChunks);
		for (const b of data.batches) {
			let stored = b.data;
			if (batchParts && b.data.length > FLUE2_PART_LIMIT) {
				const parts = splitFlue2Text(b.data);
				for (const [index, part] of parts.entries()) {
					await tx.query(`INSERT INTO ${name(tx, T.batchChunks)} (path, seq, chunk_index, chunk_count, data) VALUES (?, ?, ?, ?, ?)`, [
						s.path,
						b.seq,
						index,
						parts.length,
						part,
					]);
				}
				stored = JSON.stringify({ [FLUE2_CHUNK_MARKER]: parts.length });
			}
			await tx.query(
				`INSERT INTO ${name(tx, T.batches)} (path, seq, producer_id, producer_epoch, producer_sequence, data, submission_id, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				[s.path, b.seq, b.producerId, b.producerEpoch, b.producerSequence, stored, b.submissionId, b.attemptId],
			);
		}
		if (data.attachments.length > 0 && !catalog.has(T.attachments))
			throw new ConfigError(`the target has no ${T.attachments} table; instance ${line.instance} was not written.`);
		const inline = catalog.get(T.attachments)?.has('bytes') ?? false;
		for (const a of data.attachments) {
			const bytes = Buffer.from(a.bytes, 'base64');
			const head = [s.path, a.attachmentId, a.mimeType, a.byteSize, a.digest, a.conversationId];
			if (inline) {
				await tx.query(
					`INSERT INTO ${name(tx, T.attachments)} (stream_path, attachment_id, mime_type, byte_size, digest, conversation_id, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					[...head, bytes, a.createdAt],
				);
				continue;
			}
			const count = Math.max(1, Math.ceil(bytes.length / FLUE2_ATTACHMENT_PART_BYTES));
			await tx.query(
				`INSERT INTO ${name(tx, T.attachments)} (stream_path, attachment_id, mime_type, byte_size, digest, conversation_id, chunk_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				[...head, count, a.createdAt],
			);
			for (let index = 0; index < count; index++) {
				const part = bytes.subarray(index * FLUE2_ATTACHMENT_PART_BYTES, (index + 1) * FLUE2_ATTACHMENT_PART_BYTES);
				await tx.query(`INSERT INTO ${name(tx, T.attachmentChunks)} (stream_path, attachment_id, chunk_index, bytes) VALUES (?, ?, ?, ?)`, [
					s.path,
					a.attachmentId,
					index,
					part,
				]);
			}
		}
		if (data.submissions.length > 0 && catalog.has(T.submissions)) await writeSubmissions(tx, data.submissions, columns);
		// The fold checkpoint is not written: it is a cache the runtime rebuilds from the stream.
		const written = await getFlue2Stream(tx, s.path);
		const back = await exportFlue2Instance(tx, written!);
		if (flue2ContentChecksum(line.instance, back.data, columns) !== want) {
			throw new CorruptError(`instance ${line.instance} did not read back as written, so its transaction was rolled back and the target is as it was.`, {
				backend: 'flue2',
			});
		}
		return outcome;
	});
}

/**
 * Inserts settled submissions the target does not hold. `sequence` (the queue position) is the
 * target's: each row is put after the target's last, so it never collides with the queue there.
 */
async function writeSubmissions(tx: Flue2Sql, rows: Flue2Row[], columns: ReadonlySet<string>): Promise<void> {
	const table = name(tx, T.submissions);
	for (const row of rows) {
		const id = row.submission_id;
		if ((await tx.query(`SELECT 1 AS found FROM ${table} WHERE submission_id = ?`, [id])).length > 0) continue;
		const [max] = await tx.query(`SELECT MAX(sequence) AS m FROM ${table}`);
		const sequence = Number(max?.m ?? 0) + 1;
		const names = [...columns].filter((c) => c !== 'sequence' && c in row).map(flue2SubmissionColumn);
		const values = names.map((c) => row[c] ?? null);
		await tx.query(`INSERT INTO ${table} (sequence, ${names.join(', ')}) VALUES (?, ${names.map(() => '?').join(', ')})`, [sequence, ...values]);
	}
}

/**
 * When an instance was last active, in epoch milliseconds: the latest record timestamp of its
 * last batch (batches are appended in time order). Null for a stream without batches.
 */
export async function flue2LastActivity(sql: Flue2Sql, stream: Flue2Stream): Promise<number | null> {
	let last: number | null = null;
	for await (const batch of readFlue2Batches(sql, stream.path, { after: stream.nextOffset - 2 })) {
		for (const record of decodeFlue2Batch(batch.text, `batch ${batch.seq} of stream ${stream.path}`).records) {
			const at = typeof record.timestamp === 'string' ? Date.parse(record.timestamp) : NaN;
			if (Number.isFinite(at) && (last === null || at > last)) last = at;
		}
	}
	return last;
}

/** What `deleteFlue2Instance` did. */
export type Flue2DeleteOutcome = 'deleted' | 'active-since' | 'gone';

/**
 * Deletes a whole instance (stream, batches, checkpoints, attachments, settled submissions) in one
 * transaction, under the stream row's lock, the lock the runtime's append takes. With
 * `olderThan` (epoch ms) only when it is still older than that, checked again inside the
 * transaction, so an instance a runtime wrote to since it was listed, or is appending to now, is
 * kept. Throws Flue2OpenSubmissionsError (and deletes nothing) when it has unsettled submissions.
 */
export async function deleteFlue2Instance(sql: Flue2WriteSql, path: string, options: { olderThan?: number } = {}): Promise<Flue2DeleteOutcome> {
	return sql.transaction(async (tx) => {
		await lockFlue2Stream(tx, path);
		const stream = await getFlue2Stream(tx, path);
		if (!stream) return 'gone';
		if (options.olderThan !== undefined) {
			const last = await flue2LastActivity(tx, stream);
			if (last !== null && last >= options.olderThan) return 'active-since';
		}
		await deleteFlue2InstanceRows(tx, path);
		return 'deleted';
	});
}

/**
 * Creates `flue_meta` as the adapters define it (when absent) and stamps it with `format`.
 * Runs inside the caller's transaction.
 */
export async function stampFlue2(tx: Flue2Sql, format: string): Promise<void> {
	const meta = name(tx, T.meta);
	const key = tx.dialect === 'mysql' ? '`key`' : 'key';
	await tx.query(
		tx.dialect === 'mysql'
			? `CREATE TABLE IF NOT EXISTS ${meta} (\`key\` VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, value VARCHAR(64) NOT NULL) ENGINE=InnoDB`
			: `CREATE TABLE IF NOT EXISTS ${meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	);
	const [found] = await tx.query(`SELECT count(*) AS n FROM ${meta} WHERE ${key} = ?`, ['format_version']);
	if (Number(found?.n) === 0) await tx.query(`INSERT INTO ${meta} (${key}, value) VALUES (?, ?)`, ['format_version', format]);
	else await tx.query(`UPDATE ${meta} SET value = ? WHERE ${key} = ?`, [format, 'format_version']);
}

/** The formats `resetFlue2` can recreate: the ones this code knows. */
export const FLUE2_RESET_FORMATS: readonly string[] = Object.freeze([FLUE2_FORMAT_VERSION]);

/** Flue's tables in the order they are dropped: parts before the tables they belong to (SQLite's attachment parts have a foreign key). */
const RESET_ORDER: readonly Flue2Table[] = [
	T.batchChunks,
	T.checkpointChunks,
	T.attachmentChunks,
	T.submissionChunks,
	T.batches,
	T.checkpoints,
	T.attachments,
	T.submissions,
	T.sessionLocks,
	T.streams,
	T.meta,
];

/**
 * Drops every Flue table the database holds and recreates the stamp table at `format`. The
 * adapter of that format creates the other tables itself at its next start (with
 * `CREATE TABLE IF NOT EXISTS` after reading the stamp), so they are exactly its own. Returns the
 * tables dropped.
 *
 * SQLite and Postgres have transactional DDL: one transaction, so a reset killed at any point
 * leaves the database as it was or reset. MySQL commits every DDL statement by itself, so there
 * the reset swaps instead (see `resetFlue2Mysql`).
 */
export async function resetFlue2(sql: Flue2WriteSql, format: string): Promise<string[]> {
	if (!FLUE2_RESET_FORMATS.includes(format))
		throw new ConfigError(`format_version ${JSON.stringify(format)} is not one flue-persist knows (it knows ${FLUE2_RESET_FORMATS.join(', ')}).`);
	if (sql.dialect === 'mysql') return resetFlue2Mysql(sql, format);
	return sql.transaction(async (tx) => {
		const catalog = await catalogTables(tx);
		const dropped: string[] = [];
		for (const table of RESET_ORDER) {
			if (!catalog.has(table)) continue;
			await tx.query(`DROP TABLE ${name(tx, table)}`);
			dropped.push(table);
		}
		await stampFlue2(tx, format);
		return dropped;
	});
}

/**
 * The reset on MySQL, where each DDL statement commits by itself, made so that a process killed
 * at any point leaves the Flue tables either all as they were or reset, and a rerun finishes:
 *
 * 1. drop what an interrupted reset left: tables it had moved aside (`flue_persist_reset_old_*`,
 *    only ever made after its export was written) and a stamp table it had not yet swapped in
 *    (`flue_persist_reset_new_flue_meta`);
 * 2. create the new stamp table under its reset name and stamp it;
 * 3. one `RENAME TABLE` moves every Flue table aside and the new stamp table to `flue_meta`: one
 *    statement, atomic in MySQL and MariaDB, so a reader sees the old tables or the reset ones;
 * 4. drop the tables moved aside.
 */
async function resetFlue2Mysql(sql: Flue2WriteSql, format: string): Promise<string[]> {
	const leftovers = await flue2ResetLeftovers(sql);
	for (const leftover of leftovers) await sql.query(`DROP TABLE IF EXISTS ${quoteMysql(leftover.name)}`);
	const catalog = await catalogTables(sql);
	const present = RESET_ORDER.filter((t) => catalog.has(t));
	const fresh = flue2ResetMysqlName(T.meta, 'new');
	await sql.query(
		`CREATE TABLE ${fresh} (\`key\` VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, value VARCHAR(64) NOT NULL) ENGINE=InnoDB`,
	);
	await sql.query(`INSERT INTO ${fresh} (\`key\`, value) VALUES (?, ?)`, ['format_version', format]);
	const moves = [...present.map((t) => `${name(sql, t)} TO ${flue2ResetMysqlName(t, 'old')}`), `${fresh} TO ${name(sql, T.meta)}`];
	await sql.query(`RENAME TABLE ${moves.join(', ')}`);
	// IF EXISTS: `doctor --fix` may have dropped one already (it drops these names too).
	for (const table of present) await sql.query(`DROP TABLE IF EXISTS ${flue2ResetMysqlName(table, 'old')}`);
	return present;
}

/**
 * The tables an interrupted reset left on MySQL, by their exact reset names (`flue2ResetName`):
 * Flue tables moved aside but not yet dropped, and a stamp table not yet swapped in. Only reads.
 */
export async function flue2ResetLeftovers(sql: Flue2Sql): Promise<Array<{ name: string; table: Flue2Table; role: 'old' | 'new' }>> {
	if (sql.dialect !== 'mysql') return [];
	const candidates = [...RESET_ORDER.map((table) => ({ table, role: 'old' as const })), { table: T.meta, role: 'new' as const }].map((c) => ({
		...c,
		name: flue2ResetName(c.table, c.role),
	}));
	const names = candidates.map((c) => c.name);
	const rows = await sql.query(
		`SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${names.map(() => '?').join(', ')})`,
		names,
	);
	const found = new Set(rows.map((r) => String(r.t ?? r.T)));
	// In the drop order, and only names this code made.
	return candidates.filter((c) => found.has(c.name));
}
