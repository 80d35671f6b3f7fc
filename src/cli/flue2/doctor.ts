/**
 * `flue-persist doctor` on a Flue 2 database: the report has the session stores' layout and exit
 * codes. Read-only unless `--fix`, which repairs only what has one right answer (src/flue2/repair.ts).
 */
import { checkFlue2, type Flue2Problem } from '../../flue2/doctor.js';
import { type Flue2Repair, repairFlue2 } from '../../flue2/repair.js';
import { count, escapeText } from '../../tools/format.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { withProgress } from '../session-io.js';
import { type Flue2Database, openFlue2ForWrite } from './open.js';

function problemText(p: Flue2Problem, repair?: Flue2Repair): string {
	const who = p.sessionId === null ? 'database' : `instance ${escapeText(JSON.stringify(p.sessionId))}`;
	const mark = repair?.fixed ? '✓' : '✗';
	const note = repair ? (repair.fixed ? `fixed: ${repair.note}` : repair.note) : p.remedy;
	return `${mark} ${who} · ${p.kind} · ${escapeText(p.table)}\n    ${escapeText(p.detail)}\n    ${escapeText(note)}\n`;
}

/** Checks a Flue 2 database. Exits 1 when damage was found or not everything was checked. */
export async function doctorFlue2(io: CliIo, db: Flue2Database, options: { fix?: boolean; json?: boolean }, urlText: string): Promise<void> {
	const result = await withProgress(io, 'doctor', 'instances', 'check', (progress, interrupt) =>
		checkFlue2(db.sql, db.inspection, {
			stopped: interrupt.stopped,
			progress,
		}),
	);
	let repairs: Flue2Repair[] | null = null;
	if (options.fix && result.problems.length > 0 && !result.incomplete) {
		const target = await openFlue2ForWrite(io, urlText, { checkStamp: false });
		try {
			repairs = await repairFlue2(target.sql, result.problems);
		} finally {
			await target.close();
		}
	}
	const left = repairs ? repairs.filter((r) => !r.fixed).length : result.problems.length;
	if (options.json) {
		const problems = result.problems.map((p, i) => (repairs ? { ...p, fixed: repairs[i]!.fixed, outcome: repairs[i]!.note } : p));
		io.out(
			`${JSON.stringify({ store: db.display, format: 'flue2', stamp: db.inspection.stamp, checked: { instances: result.instances, batches: result.batches }, problems, incomplete: result.incomplete }, null, 2)}\n`,
		);
	} else {
		let text = `Checked ${escapeText(db.display)} (Flue 2, format_version ${escapeText(db.inspection.stamp ?? 'missing')}): ${count(result.instances, 'instance')}, ${count(result.batches, 'batch', 'batches')}.\n`;
		if (result.problems.length > 0) {
			const instances = new Set(result.problems.filter((p) => p.sessionId !== null).map((p) => p.sessionId)).size;
			text += `\n${result.problems.map((p, i) => problemText(p, repairs?.[i])).join('')}\n`;
			const where = `${count(result.problems.length, 'problem')} in ${count(instances, 'instance')}${result.problems.some((p) => p.sessionId === null) ? ' and the database' : ''}`;
			text += repairs
				? `${where}: ${result.problems.length - left} fixed, ${left} left.\n`
				: `${where}. \`doctor --fix\` repairs orphan rows, a missing stamp and what an interrupted reset left; the rest needs the remedy given.\n`;
		} else text += 'No damage found.\n';
		if (result.incomplete) text += `Not everything was checked: ${result.incomplete}.\n`;
		io.out(text);
	}
	if (left > 0 || result.incomplete) throw new CliError('', EXIT.ERROR);
}
