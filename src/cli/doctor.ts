/**
 * `flue-persist doctor <store>`: finds damage in the raw tables of a database and, with `--fix`,
 * repairs what needs no guess. Exits 1 when damage was found and is not all repaired.
 */
import { Command, Option } from 'commander';
import { type DoctorResult, type Problem, runDoctor } from '../tools/doctor.js';
import { count, escapeText } from '../tools/format.js';
import { openDatabase, parseStoreUrl, redactUrl } from '../tools/open-store.js';
import type { Layout } from '../types.js';
import { doctorFlue2 } from './flue2/doctor.js';
import { runIfFlue2 } from './flue2/open.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { guarded, shellQuote, withProgress } from './session-io.js';

interface DoctorOptions {
	fix?: boolean;
	json?: boolean;
	table?: string;
	layout?: Layout;
}

/** The `doctor` command. */
export function doctorCommand(io: CliIo): Command {
	return new Command('doctor')
		.summary('find (and fix) damaged sessions')
		.description(
			"Check every session table of a database, row by row: the format stamp; rows that do not parse; chunks and parts missing or beyond their declared count; entry rows without a session; entries whose parent is missing, or whose parents form a cycle; a leaf that is not an entry; header counters; tables whose names or columns are not flue-persist's; and, for a table kept in both layouts, blob and log copies of a session that disagree. Without --fix it only reads.\n\n" +
				'--fix repairs what needs no guess (stray chunk, part and entry rows, counters, parent_id columns, a missing format stamp) and says what it left. Exits 1 when damage is left.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.option('--fix', 'repair what can be repaired without guessing')
		.option('--json', 'print the findings as JSON')
		.option('--table <name>', 'check only this session table (default: every one)')
		.addOption(new Option('--layout <layout>', 'check only this layout').choices(['log', 'blob']))
		.action((store: string, options: DoctorOptions) => doctor(io, store, options));
}

function problemText(p: Problem, fix: boolean): string {
	const who = p.sessionId === null ? 'database' : `session ${escapeText(JSON.stringify(p.sessionId))}`;
	let mark: string;
	let outcome: string;
	if (!p.fixable) {
		mark = '✗';
		outcome = `left as it is: ${p.remedy}`;
	} else if (!fix) {
		mark = '✗';
		outcome = `--fix will ${p.remedy}`;
	} else if (p.fixed) {
		mark = '✓';
		outcome = `fixed: ${p.remedy}`;
	} else {
		mark = '✗';
		outcome = `not fixed: ${p.fixError ?? 'unknown reason'}`;
	}
	return `${mark} ${who} · ${p.kind} · ${escapeText(p.table)}\n    ${escapeText(p.detail)}\n    ${escapeText(outcome)}\n`;
}

function summary(result: DoctorResult, fix: boolean): string {
	const { problems } = result;
	if (problems.length === 0) return 'No damage found.';
	const sessions = new Set(problems.filter((p) => p.sessionId !== null).map((p) => p.sessionId)).size;
	const where = `${count(problems.length, 'problem')} in ${count(sessions, 'session')}${problems.some((p) => p.sessionId === null) ? ' and the database' : ''}`;
	if (fix) {
		const fixed = problems.filter((p) => p.fixed).length;
		return `${where}: ${fixed} fixed, ${problems.length - fixed} left.`;
	}
	const fixable = problems.filter((p) => p.fixable).length;
	return `${where}: ${fixable} can be repaired with --fix, ${problems.length - fixable} cannot.`;
}

async function doctor(io: CliIo, urlText: string, options: DoctorOptions): Promise<void> {
	const fix = options.fix === true;
	// Flue 2 databases are checked by src/cli/flue2 (the stamp is reported, not refused; --fix repairs orphans, a missing stamp and reset leftovers).
	if (await runIfFlue2(io, urlText, (db) => doctorFlue2(io, db, options, urlText), { checkStamp: false, flags: options })) return;
	await guarded(async () => {
		const url = parseStoreUrl(urlText, io.cwd);
		const database = await openDatabase(url, fix ? 'modify' : 'read', { readonly: !fix });
		let result: DoctorResult;
		try {
			result = await withProgress(io, 'doctor', 'sessions', 'check', (progress, interrupt) =>
				runDoctor(database.raw, url.display, {
					fix,
					table: options.table,
					layout: options.layout,
					stopped: interrupt.stopped,
					progress,
				}),
			);
		} finally {
			await database.close();
		}
		const left = result.problems.filter((p) => !p.fixed);
		if (options.json) {
			io.out(`${JSON.stringify({ store: url.display, checked: result.checked, problems: result.problems, incomplete: result.incomplete }, null, 2)}\n`);
		} else {
			const checked = result.checked
				.map(
					(c) =>
						`table ${c.table} (${c.layout} layout${c.sealed ? ', sealed by the migration: a backup, not compared with the log' : ''}): ${count(c.sessions, 'session')}`,
				)
				.join('; ');
			let text = `Checked ${escapeText(url.display)}${checked ? `: ${checked}` : ''}.\n`;
			if (result.problems.length > 0) text += `\n${result.problems.map((p) => problemText(p, fix)).join('')}\n`;
			text += `${summary(result, fix)}\n`;
			if (result.incomplete) text += `Not every session was checked: ${result.incomplete}.\n`;
			if (!fix && result.problems.some((p) => p.fixable))
				text += `Repair what can be repaired with:\n\n  flue-persist doctor ${shellQuote(redactUrl(urlText))} --fix\n`;
			io.out(text);
		}
		if (left.length > 0 || result.incomplete) throw new CliError('', EXIT.ERROR);
	});
}
