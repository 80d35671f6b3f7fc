/** `flue-persist export` on a Flue 2 database: whole instances as checksummed JSON Lines. */
import { resolve } from 'node:path';
import { exportFlue2Instance, flue2ExportHeader } from '../../flue2/export.js';
import { listFlue2Streams } from '../../flue2/format.js';
import { count, escapeText } from '../../tools/format.js';
import { openExportOutput } from '../export-file.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { withProgress } from '../session-io.js';
import type { Flue2Database } from './open.js';

/** The `export` options that apply to a Flue 2 database. */
export interface Flue2ExportOptions {
	output?: string;
	prefix?: string;
	agent?: string;
	force?: boolean;
	checkpoints?: boolean;
}

/**
 * Exports the instances of a Flue 2 database, to stdout or to a file (written as
 * ../export-file.ts says). Whether the file may be replaced was decided by the caller.
 */
export async function exportFlue2(io: CliIo, db: Flue2Database, options: Flue2ExportOptions): Promise<void> {
	const file = options.output === undefined || options.output === '-' ? null : resolve(io.cwd, options.output);
	const listed = (await listFlue2Streams(db.sql)).filter(
		(s) => (options.agent === undefined || s.agent === options.agent) && (options.prefix === undefined || (s.instanceId ?? s.path).startsWith(options.prefix)),
	);
	// import takes agent instances only (as copy and prune do): a stream under another path is left out, and said.
	const streams = listed.filter((s) => s.agent !== null);
	const foreign = listed.filter((s) => s.agent === null).map((s) => s.path);
	const out = await openExportOutput(file, options.output, db.file, (text) => io.out(text));
	let written = 0;
	let complete = false;
	try {
		await withProgress(io, 'export', 'instances', 'instance', async (progress, interrupt) => {
			progress.start(streams.length);
			await out.write(`${JSON.stringify(flue2ExportHeader(db.sql.dialect))}\n`);
			for (const stream of streams) {
				if (interrupt.stopped()) break;
				await out.write(`${JSON.stringify(await exportFlue2Instance(db.sql, stream, { checkpoints: options.checkpoints }))}\n`);
				written++;
				progress.tick();
			}
			if (written === streams.length) {
				await out.write(`${JSON.stringify({ end: true, instances: written })}\n`);
				complete = true;
			}
		});
	} finally {
		await out.finish(complete);
	}
	if (!complete) {
		throw new CliError(
			`Interrupted after ${count(written, 'instance')} of ${streams.length.toLocaleString('en-US')}. ${file ? `No file was written.` : 'The output has no end line.'} Run the export again.`,
			EXIT.ERROR,
		);
	}
	io.err(`Exported ${count(written, 'instance')} from ${escapeText(db.display)} (Flue 2) to ${escapeText(file ? options.output! : 'stdout')}.\n`);
	if (foreign.length > 0)
		io.err(
			`Left out ${foreign.length === 1 ? 'a stream that is not' : `${foreign.length} streams that are not`} an agent instance's: ${foreign.map((p) => escapeText(JSON.stringify(p))).join(', ')}.\n`,
		);
}
