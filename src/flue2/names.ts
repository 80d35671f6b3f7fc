/**
 * The names of Flue 2's tables and the one function that puts a name into SQL text.
 * Format version 1, as written by `@flue/runtime` 2.x (`sqlite()`, Postgres, libSQL) and
 * `@flue/mysql` 2.x; see docs/flue2.md.
 */
import { ConfigError } from '../errors.js';
import type { SqlDialect } from '../sql/client.js';
import { quoteMysql, quotePostgres, quoteSqlite } from '../sql/identifiers.js';

/** The format stamp this code reads. A database stamped with anything else is refused. */
export const FLUE2_FORMAT_VERSION = '1';

/** Flue 2's tables (format 1). MySQL has no `*_chunks` tables except submission chunks. */
export const FLUE2_TABLES = Object.freeze({
	meta: 'flue_meta',
	submissions: 'flue_agent_submissions',
	submissionChunks: 'flue_submission_chunks',
	streams: 'flue_conversation_streams',
	batches: 'flue_conversation_stream_batches',
	batchChunks: 'flue_conversation_stream_batch_chunks',
	checkpoints: 'flue_conversation_fold_checkpoints',
	checkpointChunks: 'flue_conversation_fold_checkpoint_chunks',
	attachments: 'flue_attachments',
	attachmentChunks: 'flue_attachment_chunks',
	sessionLocks: 'flue_agent_session_locks',
});

/** A table of the Flue 2 format. */
export type Flue2Table = (typeof FLUE2_TABLES)[keyof typeof FLUE2_TABLES];

const KNOWN = new Set<string>(Object.values(FLUE2_TABLES));

/**
 * A batch or checkpoint whose text is longer than this many UTF-16 code units is stored in parts
 * (SQLite, Postgres and libSQL adapters); the row then holds only a marker.
 */
export const FLUE2_PART_LIMIT = 1_048_576;
/** The length of each stored part of a batch or checkpoint, in UTF-16 code units. */
export const FLUE2_PART_LENGTH = 524_288;
/** The size of each stored part of an attachment, in bytes. */
export const FLUE2_ATTACHMENT_PART_BYTES = 524_288;
/** The key of the marker object a split batch's `data` column holds instead of its text. */
export const FLUE2_CHUNK_MARKER = '$flueChunkCount';

/** The SQL dialect of a Flue 2 database. */
export type Flue2Dialect = SqlDialect;

/**
 * The only way a Flue table name reaches SQL text: a table of the format (and, on Postgres, a
 * schema), quoted for the dialect by the identifier owner (`src/sql/identifiers.ts`), which refuses
 * a schema that is not a plain name. Anything else is a programming error or hostile input.
 */
export function flue2Name(dialect: Flue2Dialect, table: Flue2Table, schema?: string | null): string {
	if (!KNOWN.has(table)) throw new ConfigError(`${JSON.stringify(table)} is not a table of the Flue 2 format.`);
	if (dialect === 'mysql') return quoteMysql(table);
	if (dialect === 'postgres') return quotePostgres(table, schema);
	return quoteSqlite(table);
}

/**
 * What `reset` renames a table to on MySQL while it swaps the tables: `old` for a Flue table moved
 * aside (then dropped), `new` for the stamp table made before the swap. Built from the format's
 * constant names only, so a leftover of an interrupted reset is recognised by exact name.
 */
export function flue2ResetName(table: Flue2Table, role: 'old' | 'new'): string {
	if (!KNOWN.has(table)) throw new ConfigError(`${JSON.stringify(table)} is not a table of the Flue 2 format.`);
	return `flue_persist_reset_${role}_${table}`;
}

/** A reset name (`flue2ResetName`) quoted for MySQL. */
export function flue2ResetMysqlName(table: Flue2Table, role: 'old' | 'new'): string {
	return quoteMysql(flue2ResetName(table, role));
}

/**
 * The columns of `flue_agent_submissions` (format 1). Submissions are copied column by column,
 * so these are the only column names that ever reach SQL from a row's keys.
 */
export const FLUE2_SUBMISSION_COLUMNS = Object.freeze([
	'sequence',
	'submission_id',
	'session_key',
	'kind',
	'payload',
	'status',
	'accepted_at',
	'canonical_ready_at',
	'attempt_id',
	'input_applied_at',
	'abort_requested_at',
	'started_at',
	'joined_into',
	'settled_at',
	'error',
	'attempt_count',
	'max_attempts',
	'timeout_at',
	'owner_id',
	'lease_expires_at',
	'settlement_record_id',
	'settlement_record',
] as const);

const SUBMISSION_COLUMNS = new Set<string>(FLUE2_SUBMISSION_COLUMNS);

/** A column of `flue_agent_submissions`, checked against the format's list; anything else is refused. */
export function flue2SubmissionColumn(column: string): string {
	if (!SUBMISSION_COLUMNS.has(column)) throw new ConfigError(`${JSON.stringify(column)} is not a column of the Flue 2 submissions table.`);
	return column;
}

/** The stream path of an agent instance: `agents/<agentName>/<instanceId>`. */
export function flue2StreamPath(agentName: string, instanceId: string): string {
	return `agents/${agentName}/${instanceId}`;
}

/** Splits a stream path into agent and instance, or null when it is not an agent instance's path. */
export function parseFlue2StreamPath(path: string): { agent: string; instanceId: string } | null {
	const match = /^agents\/([^/]+)\/(.+)$/s.exec(path);
	return match ? { agent: match[1]!, instanceId: match[2]! } : null;
}

/** A stream offset as the runtime prints it: `<16 zeros>_<seq, 16 digits>`. */
export function formatFlue2Offset(seq: number): string {
	return `${'0'.repeat(16)}_${String(seq).padStart(16, '0')}`;
}
