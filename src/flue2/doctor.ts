/**
 * Checks a Flue 2 database without changing it: the stamp; every split batch, checkpoint and
 * attachment complete; batch offsets contiguous per stream; records decodable; and orphans
 * (batches, parts, checkpoints, attachments and settled submissions of no stream).
 */
import { CorruptError, unprefixedMessage } from '../errors.js';
import {
	decodeFlue2Batch,
	type Flue2Inspection,
	type Flue2Sql,
	flue2InstanceName,
	flue2PathsByTable,
	flue2StrayAttachmentParts,
	flue2StrayBatchParts,
	listFlue2Streams,
	listFlue2Submissions,
	readFlue2Attachments,
	readFlue2Batches,
	readFlue2Checkpoint,
} from './format.js';
import { FLUE2_FORMAT_VERSION, FLUE2_TABLES, flue2StreamPath, parseFlue2StreamPath } from './names.js';
import { flue2ResetLeftovers } from './write.js';

/** Kinds of damage in a Flue 2 database, stable for `--json` readers (src/flue2/repair.ts says which `--fix` repairs). */
export type Flue2ProblemKind =
	| 'format-stamp-missing'
	| 'format-stamp-newer'
	| 'format-stamp-unknown'
	| 'batch-parts-missing'
	| 'batch-unreadable'
	| 'record-version-unknown'
	| 'offset-gap'
	| 'batch-beyond-offset'
	| 'checkpoint-parts-missing'
	| 'attachment-damaged'
	| 'orphan-batches'
	| 'orphan-batch-parts'
	| 'orphan-checkpoint'
	| 'orphan-attachments'
	| 'orphan-attachment-parts'
	| 'orphan-submissions'
	| 'reset-leftover';

/** The kinds `doctor --fix` repairs (src/flue2/repair.ts); a missing stamp only when nothing else is left. */
export const FLUE2_FIXABLE_KINDS: ReadonlySet<Flue2ProblemKind> = new Set([
	'orphan-batches',
	'orphan-checkpoint',
	'orphan-batch-parts',
	'orphan-attachment-parts',
	'format-stamp-missing',
	'reset-leftover',
]);

/** One problem, in the shape of the session stores' doctor report. */
export interface Flue2Problem {
	kind: Flue2ProblemKind;
	/** The instance (`<agent>/<instanceId>`, or the stream path) the damage belongs to; null for the database. */
	sessionId: string | null;
	table: string;
	detail: string;
	remedy: string;
	/** Whether `doctor --fix` repairs this kind. */
	fixable: boolean;
	/** The rows it is about, for `doctor --fix` (orphans only). */
	ref?: { path: string; seq?: number; attachmentId?: string };
}

/** What the check found. */
export interface Flue2DoctorResult {
	instances: number;
	batches: number;
	problems: Flue2Problem[];
	/** Why not everything was checked, or null. */
	incomplete: string | null;
}

const T = FLUE2_TABLES;
const DOCTOR = 'Restore the instance from a backup or an export; doctor --fix cannot rebuild lost records.';

/** A CorruptError's sentence without the package prefix and without the advice to run doctor. */
function plain(error: CorruptError): string {
	return unprefixedMessage(error).replace(/ Run `flue-persist doctor` on the database\.$/, '');
}

function ranges(numbers: number[]): string {
	const out: string[] = [];
	for (let i = 0; i < numbers.length; ) {
		let j = i;
		while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
		out.push(i === j ? String(numbers[i]) : `${numbers[i]}–${numbers[j]}`);
		i = j + 1;
	}
	return out.join(', ');
}

/** Checks the database. `stopped` is polled between instances (Ctrl-C). */
export async function checkFlue2(
	sql: Flue2Sql,
	inspection: Flue2Inspection,
	options: { stopped?: () => boolean; progress?: { start(n: number): void; tick(): void } } = {},
): Promise<Flue2DoctorResult> {
	const problems: Flue2Problem[] = [];
	const add = (p: Omit<Flue2Problem, 'fixable'>) => problems.push({ ...p, fixable: FLUE2_FIXABLE_KINDS.has(p.kind) });
	if (inspection.stamp === null) {
		add({
			kind: 'format-stamp-missing',
			sessionId: null,
			table: T.meta,
			detail: 'flue_meta holds no format_version, so the format of these tables is unknown.',
			remedy: `the runtime refuses Flue tables without a stamp; \`flue-persist doctor --fix\` stamps format_version ${FLUE2_FORMAT_VERSION} when the tables are otherwise whole.`,
		});
	} else if (inspection.stamp !== FLUE2_FORMAT_VERSION) {
		const newer = /^\d+$/.test(inspection.stamp) && Number(inspection.stamp) > Number(FLUE2_FORMAT_VERSION);
		add({
			kind: newer ? 'format-stamp-newer' : 'format-stamp-unknown',
			sessionId: null,
			table: T.meta,
			detail: `flue_meta says format_version ${JSON.stringify(inspection.stamp)}; this flue-persist reads format_version ${FLUE2_FORMAT_VERSION}.`,
			remedy: newer ? 'upgrade flue-persist; nothing else was checked.' : 'nothing else was checked: the tables are not in a format this flue-persist knows.',
		});
		return { instances: 0, batches: 0, problems, incomplete: 'the format stamp is not one this flue-persist reads' };
	}
	// MySQL: tables an interrupted `reset` left beside the Flue tables, known by their exact names.
	for (const leftover of await flue2ResetLeftovers(sql)) {
		const unswapped = leftover.role === 'new';
		add({
			kind: 'reset-leftover',
			sessionId: null,
			table: leftover.name,
			detail: unswapped
				? 'a reset was stopped before it swapped the tables: this is the stamp table it had made. The Flue tables are as they were.'
				: `a reset was stopped after it swapped the tables: this is the Flue table ${leftover.table} as it was before the reset. The database is reset.`,
			remedy: unswapped
				? '`flue-persist doctor --fix` drops it; neither the runtime nor the tools read it.'
				: '`flue-persist doctor --fix` drops it, as the reset would have; neither the runtime nor the tools read it. The reset wrote its export before it moved the table aside, unless it ran with --no-export: then this table holds the only copy of those instances, so keep a dump of it first if you need them.',
		});
	}
	const streams = await listFlue2Streams(sql);
	const known = new Set(streams.map((s) => s.path));
	const who = (path: string) => {
		const parsed = parseFlue2StreamPath(path);
		return flue2InstanceName({ path, agent: parsed?.agent ?? null, instanceId: parsed?.instanceId ?? null });
	};
	let batches = 0;
	let incomplete: string | null = null;
	options.progress?.start(streams.length);
	for (const stream of streams) {
		if (options.stopped?.()) {
			incomplete = 'interrupted';
			break;
		}
		const id = who(stream.path);
		const seqs: number[] = [];
		const unknownVersions = new Map<string, number>();
		for await (const batch of readFlue2Batches(sql, stream.path, {
			onDamage: (seq, error) => {
				seqs.push(seq);
				add({
					kind: 'batch-parts-missing',
					sessionId: id,
					table: T.batchChunks,
					detail: plain(error),
					remedy: `left as it is: the records of batch ${seq} are lost without the missing parts. ${DOCTOR}`,
				});
			},
		})) {
			seqs.push(batch.seq);
			batches++;
			try {
				for (const r of decodeFlue2Batch(batch.text, `batch ${batch.seq} of stream ${stream.path}`).unsupported)
					unknownVersions.set(String(r.v), (unknownVersions.get(String(r.v)) ?? 0) + 1);
			} catch (error) {
				if (!(error instanceof CorruptError)) throw error;
				add({ kind: 'batch-unreadable', sessionId: id, table: T.batches, detail: plain(error), remedy: `left as it is. ${DOCTOR}` });
			}
		}
		for (const [v, n] of unknownVersions) {
			add({
				kind: 'record-version-unknown',
				sessionId: id,
				table: T.batches,
				detail: `${n} record${n === 1 ? '' : 's'} of version v ${v}; this flue-persist decodes v 1 and shows them as unknown.`,
				remedy: 'a newer Flue wrote them: upgrade flue-persist to read them.',
			});
		}
		seqs.sort((a, b) => a - b);
		const have = new Set(seqs);
		const missing: number[] = [];
		for (let s = 0; s < stream.nextOffset; s++) if (!have.has(s)) missing.push(s);
		if (missing.length > 0) {
			add({
				kind: 'offset-gap',
				sessionId: id,
				table: T.batches,
				detail: `the stream holds offsets 0–${stream.nextOffset - 1}, but batch${missing.length === 1 ? '' : 'es'} ${ranges(missing)} ${missing.length === 1 ? 'is' : 'are'} missing.`,
				remedy: `left as it is: the records are gone. ${DOCTOR}`,
			});
		}
		const beyond = seqs.filter((s) => s >= stream.nextOffset);
		if (beyond.length > 0) {
			add({
				kind: 'batch-beyond-offset',
				sessionId: id,
				table: T.batches,
				detail: `batch${beyond.length === 1 ? '' : 'es'} ${ranges(beyond)} lie beyond the stream's next offset ${stream.nextOffset}; the runtime would write over them.`,
				remedy: `left as it is. ${DOCTOR}`,
			});
		}
		try {
			await readFlue2Checkpoint(sql, stream.path);
		} catch (error) {
			if (!(error instanceof CorruptError)) throw error;
			add({
				kind: 'checkpoint-parts-missing',
				sessionId: id,
				table: T.checkpointChunks,
				detail: plain(error),
				remedy: 'left as it is: a checkpoint is a cache; the runtime rebuilds it from the stream once the damaged one is deleted.',
			});
		}
		await readFlue2Attachments(sql, stream.path, {
			onDamage: (_attachmentId, error) =>
				add({ kind: 'attachment-damaged', sessionId: id, table: T.attachments, detail: plain(error), remedy: `left as it is: its bytes are lost. ${DOCTOR}` }),
		});
		options.progress?.tick();
	}
	// Rows of no stream.
	const byTable = await flue2PathsByTable(sql);
	const orphans = (table: (typeof T)[keyof typeof T], kind: Flue2ProblemKind, what: string) => {
		for (const path of byTable.get(table) ?? []) {
			if (known.has(path)) continue;
			add({
				kind,
				sessionId: who(path),
				table,
				ref: { path },
				detail: `${what} of stream ${path}, which has no row in ${T.streams}.`,
				remedy:
					kind === 'orphan-attachments'
						? 'left as it is: no stream reads them, but a stream row restored from a backup would. Delete them once it is clear none will be.'
						: 'no stream reads them: `doctor --fix` deletes them. To keep them, restore the stream row from a backup first.',
			});
		}
	};
	orphans(T.batches, 'orphan-batches', 'batches');
	orphans(T.checkpoints, 'orphan-checkpoint', 'a fold checkpoint');
	orphans(T.attachments, 'orphan-attachments', 'attachments');
	for (const stray of await flue2StrayBatchParts(sql)) {
		add({
			kind: 'orphan-batch-parts',
			sessionId: who(stray.path),
			table: T.batchChunks,
			ref: { path: stray.path, seq: stray.seq },
			detail: `${stray.parts} part${stray.parts === 1 ? '' : 's'} of batch ${stray.seq} of stream ${stray.path}, which has no such batch.`,
			remedy: 'no batch reads them (a write that failed half-way leaves these): `doctor --fix` deletes them.',
		});
	}
	for (const stray of await flue2StrayAttachmentParts(sql)) {
		add({
			kind: 'orphan-attachment-parts',
			sessionId: who(stray.path),
			table: T.attachmentChunks,
			ref: { path: stray.path, attachmentId: stray.attachmentId },
			detail: `${stray.parts} part${stray.parts === 1 ? '' : 's'} of attachment ${stray.attachmentId}, which has no row in ${T.attachments}.`,
			remedy: 'no attachment reads them: `doctor --fix` deletes them.',
		});
	}
	const settledWithoutStream = new Map<string, number>();
	for (const s of await listFlue2Submissions(sql)) {
		// An open submission may precede its stream (accepted, not yet run); a settled one may not.
		if (s.status !== 'settled' || s.agent === null || s.instanceId === null) continue;
		const path = flue2StreamPath(s.agent, s.instanceId);
		if (!known.has(path)) settledWithoutStream.set(path, (settledWithoutStream.get(path) ?? 0) + 1);
	}
	for (const [path, n] of settledWithoutStream) {
		add({
			kind: 'orphan-submissions',
			sessionId: who(path),
			table: T.submissions,
			detail: `${n} settled submission${n === 1 ? '' : 's'} of instance ${who(path)}, which has no stream.`,
			remedy: 'left as it is: the conversation they answered is gone.',
		});
	}
	return { instances: streams.length, batches, problems, incomplete };
}
