/** `flue-persist export` on a Flue 2 database: whole instances as checksummed JSON Lines. */
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { exportFlue2Instance, flue2ExportHeader } from '../../flue2/export.js';
import { listFlue2Streams } from '../../flue2/format.js';
import { count } from '../../tools/format.js';
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
 * Exports the instances of a Flue 2 database. A file is written under a temporary name and
 * renamed when complete, so an interrupted or failed export never leaves a file that looks whole.
 */
export async function exportFlue2(io: CliIo, db: Flue2Database, options: Flue2ExportOptions): Promise<void> {
	const file = options.output === undefined || options.output === '-' ? null : resolve(io.cwd, options.output);
	if (file && existsSync(file) && !options.force)
		throw new CliError(`${options.output} exists and was left as it is. Pass --force to replace it, or choose another file.`, EXIT.ERROR);
	const streams = (await listFlue2Streams(db.sql)).filter(
		(s) => (options.agent === undefined || s.agent === options.agent) && (options.prefix === undefined || (s.instanceId ?? s.path).startsWith(options.prefix)),
	);
	const partial = file ? `${file}.partial` : null;
	const handle = partial ? await open(partial, 'w') : null;
	const write = handle ? async (text: string) => void (await handle.write(text)) : async (text: string) => io.out(text);
	let written = 0;
	let complete = false;
	try {
		await withProgress(io, 'export', 'instances', 'instance', async (progress, interrupt) => {
			progress.start(streams.length);
			await write(`${JSON.stringify(flue2ExportHeader(db.sql.dialect))}\n`);
			for (const stream of streams) {
				if (interrupt.stopped()) break;
				await write(`${JSON.stringify(await exportFlue2Instance(db.sql, stream, { checkpoints: options.checkpoints }))}\n`);
				written++;
				progress.tick();
			}
			if (written === streams.length) {
				await write(`${JSON.stringify({ end: true, instances: written })}\n`);
				complete = true;
			}
		});
	} finally {
		if (handle) {
			if (complete) await handle.sync();
			await handle.close();
			if (complete) await rename(partial!, file!);
			else await rm(partial!, { force: true });
		}
	}
	if (!complete) {
		throw new CliError(
			`Interrupted after ${count(written, 'instance')} of ${streams.length.toLocaleString('en-US')}. ${file ? `No file was written.` : 'The output has no end line.'} Run the export again.`,
			EXIT.ERROR,
		);
	}
	io.err(`Exported ${count(written, 'instance')} from ${db.display} (Flue 2) to ${file ? options.output! : 'stdout'}.\n`);
}
