/**
 * `flue-persist reset <db> --format <n>`: what to run when a Flue 2 database's stamp does not
 * match the runtime. Exports every instance first (unless `--no-export`), asks, then drops the
 * Flue tables and recreates the stamp at the named format; the runtime of that format creates the
 * rest at its next start, and the export can be imported again once it has.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { listFlue2Streams } from '../../flue2/format.js';
import { FLUE2_FORMAT_VERSION } from '../../flue2/names.js';
import { FLUE2_RESET_FORMATS, resetFlue2 } from '../../flue2/write.js';
import { escapeText } from '../../tools/format.js';
import { redactUrl } from '../../tools/open-store.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { confirm, guarded, shellQuote, terminalOf } from '../session-io.js';
import { exportFlue2 } from './export.js';
import { openFlue2ForWrite } from './open.js';

interface ResetOptions {
	format: string;
	export: boolean;
	output?: string;
	yes?: boolean;
}

/** The `reset` command (Flue 2 databases only). */
export function resetCommand(io: CliIo): Command {
	return new Command('reset')
		.summary('export a Flue 2 database, then drop its tables and restamp it')
		.description(
			"For a Flue 2 database whose format stamp does not match the runtime: export every instance to a file (unless --no-export), then drop Flue's tables and recreate the stamp at --format. The runtime of that format creates its other tables when it next starts; import the export again once it has. Asks first; --yes is required when stdin is not a terminal.",
		)
		.argument('<store>', 'Flue 2 database URL: sqlite:<file>, postgres://…, mysql://…')
		.requiredOption('--format <version>', `the format_version to recreate (known: ${FLUE2_RESET_FORMATS.join(', ')})`)
		.option('--no-export', 'do not export first (the instances are lost)')
		.option('-o, --output <file>', 'where the export goes (default: flue2-reset-<time>.jsonl)')
		.option('-y, --yes', 'reset without asking')
		.addHelpText('after', '\nExample:\n  flue-persist reset sqlite:./data/flue.db --format 1')
		.action((store: string, options: ResetOptions) => reset(io, store, options));
}

async function reset(io: CliIo, urlText: string, options: ResetOptions): Promise<void> {
	if (!FLUE2_RESET_FORMATS.includes(options.format)) {
		throw new CliError(
			`--format ${JSON.stringify(options.format)} is not a Flue 2 format flue-persist knows (it knows ${FLUE2_RESET_FORMATS.join(', ')}). Nothing was changed.`,
			EXIT.USAGE,
		);
	}
	await guarded(async () => {
		const db = await openFlue2ForWrite(io, urlText, { checkStamp: false });
		try {
			const again = `flue-persist reset ${shellQuote(redactUrl(urlText))} --format ${shellQuote(options.format)}${options.export ? '' : ' --no-export'}${options.output ? ` -o ${shellQuote(options.output)}` : ''}`;
			let file: string | null = null;
			if (options.export) {
				if (db.inspection.stamp !== FLUE2_FORMAT_VERSION) {
					throw new CliError(
						`${db.display} is stamped ${db.inspection.stamp === null ? 'with no format_version' : `format_version ${JSON.stringify(db.inspection.stamp)}`}, which flue-persist cannot read, so it cannot export it first. Back the database up another way, then run:\n\n  ${again} --no-export\n\nNothing was changed.`,
						EXIT.ERROR,
					);
				}
				const foreign = (await listFlue2Streams(db.sql)).filter((s) => s.agent === null).map((s) => s.path);
				if (foreign.length > 0) {
					throw new CliError(
						`${escapeText(db.display)} holds ${foreign.length === 1 ? 'a stream that is not' : `${foreign.length} streams that are not`} an agent instance's (${foreign
							.slice(0, 3)
							.map((p) => escapeText(JSON.stringify(p)))
							.join(
								', ',
							)}${foreign.length > 3 ? ', …' : ''}): the export carries agent instances only, so the reset would lose ${foreign.length === 1 ? 'it' : 'them'}. Back the database up another way, then run:\n\n  ${again} --no-export\n\nNothing was changed.`,
						EXIT.ERROR,
					);
				}
				file = options.output ?? `flue2-reset-${new Date(terminalOf(io).now()).toISOString().replace(/[:.]/g, '-')}.jsonl`;
				if (existsSync(resolve(io.cwd, file)))
					throw new CliError(`${file} exists and was left as it is. Name another file with -o. Nothing was changed.`, EXIT.ERROR);
			}
			await confirm(
				io,
				`Drop every Flue table of ${escapeText(db.display)} and restamp it format_version ${options.format}${file ? ` (after exporting to ${escapeText(file)})` : ' (without an export: every instance is lost)'}?`,
				options.yes === true,
				again,
			);
			if (file) await exportFlue2(io, db, { output: file });
			const dropped = await resetFlue2(db.sql, options.format);
			io.err(
				`Reset ${escapeText(db.display)}: dropped ${dropped.length} Flue table${dropped.length === 1 ? '' : 's'}, stamped format_version ${options.format}. Start the app (its adapter creates the other tables)${file ? `, then bring the instances back with:\n\n  flue-persist import ${shellQuote(redactUrl(urlText))} ${shellQuote(file)}` : '.'}\n`,
			);
		} finally {
			await db.close();
		}
	});
}
