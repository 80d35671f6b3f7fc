/**
 * `doctor --fix` on a Flue 2 database: repairs only what has one right answer, each in its own
 * transaction that checks again that the repair still applies.
 *
 * - rows no reader can reach: batches and fold checkpoints of a path without a stream row, batch
 *   parts without their batch, attachment parts without their attachment — deleted;
 * - a missing stamp on a database whose tables are otherwise whole: `flue_meta` (created when
 *   absent, as the adapter creates it) gets `format_version` 1. The runtime refuses Flue tables
 *   without a stamp ("unversioned"), so starting the app does not stamp such a database;
 * - tables an interrupted `reset` left on MySQL (`flue2ResetLeftovers`, by exact name) — dropped,
 *   as the reset would have dropped them.
 *
 * Everything else (lost parts, offset gaps, damaged attachments, orphan attachments and
 * submissions) is left with its remedy: repairing it would mean guessing.
 */

import { catalogTables } from '../sql/client.js';
import { quoteMysql } from '../sql/identifiers.js';
import { FLUE2_FIXABLE_KINDS, type Flue2Problem } from './doctor.js';
import { type Flue2Sql, flue2Catalog } from './format.js';
import { FLUE2_FORMAT_VERSION, FLUE2_TABLES, type Flue2Table, flue2Name } from './names.js';
import { type Flue2WriteSql, flue2ResetLeftovers, stampFlue2 } from './write.js';

const T = FLUE2_TABLES;

/** What was done about one problem. */
export interface Flue2Repair {
	problem: Flue2Problem;
	fixed: boolean;
	/** What was done, or why it was left. */
	note: string;
}

function name(sql: Flue2Sql, table: Flue2Table): string {
	return flue2Name(sql.dialect, table, sql.schema);
}

/** Rows of a path without a stream row, by the kind that reports them: their table, and the table of their parts. */
const STREAMLESS_ROWS: Record<'orphan-batches' | 'orphan-checkpoint', [Flue2Table, Flue2Table]> = {
	'orphan-batches': [T.batches, T.batchChunks],
	'orphan-checkpoint': [T.checkpoints, T.checkpointChunks],
};

/** The columns the format's readers need in a table; a stamp is only written when they are all there. */
const REQUIRED_COLUMNS: Array<[Flue2Table, string[]]> = [
	[T.streams, ['path', 'identity_json', 'next_offset', 'producer_id', 'producer_epoch', 'next_producer_sequence', 'incarnation']],
	[T.batches, ['path', 'seq', 'producer_id', 'producer_epoch', 'producer_sequence', 'data', 'submission_id', 'attempt_id']],
];

/**
 * Repairs the problems `checkFlue2` found that have one right answer. `problems` is the whole
 * report: a missing stamp is written only when nothing else in it is left unrepaired.
 */
export async function repairFlue2(sql: Flue2WriteSql, problems: Flue2Problem[]): Promise<Flue2Repair[]> {
	const out: Flue2Repair[] = [];
	const leftOther = problems.some((p) => !FLUE2_FIXABLE_KINDS.has(p.kind));
	for (const problem of problems) {
		if (!FLUE2_FIXABLE_KINDS.has(problem.kind)) {
			out.push({ problem, fixed: false, note: problem.remedy });
			continue;
		}
		if (problem.kind === 'format-stamp-missing') {
			out.push(
				leftOther
					? {
							problem,
							fixed: false,
							note: 'left as it is: other damage is left, so the tables are not known to be whole. Repair or restore it, then run --fix again.',
						}
					: await stamp(sql, problem),
			);
			continue;
		}
		if (problem.kind === 'reset-leftover') {
			out.push(await dropResetLeftover(sql, problem));
			continue;
		}
		const ref = problem.ref;
		if (!ref) {
			out.push({ problem, fixed: false, note: problem.remedy });
			continue;
		}
		const n = await sql.transaction(async (tx) => {
			if (problem.kind === 'orphan-batches' || problem.kind === 'orphan-checkpoint') {
				const [rows, parts] = STREAMLESS_ROWS[problem.kind];
				const path = ref.path;
				const [found] = await tx.query(`SELECT count(*) AS n FROM ${name(tx, T.streams)} WHERE path = ?`, [path]);
				if (Number(found?.n) > 0) return 0;
				const catalog = await flue2Catalog(tx);
				if (catalog.has(parts)) await tx.query(`DELETE FROM ${name(tx, parts)} WHERE path = ?`, [path]);
				return tx.run(`DELETE FROM ${name(tx, rows)} WHERE path = ?`, [path]);
			}
			if (problem.kind === 'orphan-batch-parts') {
				const [path, seq] = [ref.path, ref.seq ?? -1];
				const [batch] = await tx.query(`SELECT count(*) AS n FROM ${name(tx, T.batches)} WHERE path = ? AND seq = ?`, [path, seq]);
				if (Number(batch?.n) > 0) return 0;
				return tx.run(`DELETE FROM ${name(tx, T.batchChunks)} WHERE path = ? AND seq = ?`, [path, seq]);
			}
			const path = ref.path;
			const attachmentId = ref.attachmentId ?? '';
			const [row] = await tx.query(`SELECT count(*) AS n FROM ${name(tx, T.attachments)} WHERE stream_path = ? AND attachment_id = ?`, [path, attachmentId]);
			if (Number(row?.n) > 0) return 0;
			return tx.run(`DELETE FROM ${name(tx, T.attachmentChunks)} WHERE stream_path = ? AND attachment_id = ?`, [path, attachmentId]);
		});
		out.push(
			n > 0
				? { problem, fixed: true, note: `deleted ${n} row${n === 1 ? '' : 's'} no reader reaches.` }
				: { problem, fixed: false, note: 'left as it is: it changed since the check (a stream or batch row is there now). Run doctor again.' },
		);
	}
	return out;
}

/** Drops a table an interrupted reset left, when it is still one of the names only a reset makes. */
async function dropResetLeftover(sql: Flue2WriteSql, problem: Flue2Problem): Promise<Flue2Repair> {
	if (!(await flue2ResetLeftovers(sql)).some((l) => l.name === problem.table))
		return { problem, fixed: false, note: 'left as it is: it is gone since the check.' };
	await sql.query(`DROP TABLE IF EXISTS ${quoteMysql(problem.table)}`);
	return { problem, fixed: true, note: 'dropped: a table only an interrupted reset makes, which nothing reads.' };
}

async function stamp(sql: Flue2WriteSql, problem: Flue2Problem): Promise<Flue2Repair> {
	const catalog = await catalogTables(sql);
	const lacking = REQUIRED_COLUMNS.flatMap(([table, columns]) => columns.filter((c) => !catalog.get(table)?.has(c)).map((c) => `${table}.${c}`));
	if (lacking.length > 0)
		return {
			problem,
			fixed: false,
			note: `left as it is: the tables are not those of format_version ${FLUE2_FORMAT_VERSION} (${lacking.join(', ')} missing).`,
		};
	await sql.transaction((tx) => stampFlue2(tx, FLUE2_FORMAT_VERSION));
	return {
		problem,
		fixed: true,
		note: `stamped format_version ${FLUE2_FORMAT_VERSION}: every table has the columns of that format and nothing else is damaged.`,
	};
}
