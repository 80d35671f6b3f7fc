/**
 * Where an export is written, for both exports (session stores and Flue 2 databases): stdout, or
 * a file. A file is written under a temporary name and renamed when complete, so an interrupted
 * or failed export never leaves a file that looks whole. The temporary file is created
 * exclusively, under a random name beside the output and readable by its owner only: a file or
 * link planted at a predictable name is never written through. An output that is the database
 * being exported is refused before anything is written.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { escapeText } from '../tools/format.js';
import { CliError, EXIT } from './program.js';

export interface ExportOutput {
	write(text: string): Promise<void>;
	/** Puts a complete export in place under its name, or removes the partial file. */
	finish(complete: boolean): Promise<void>;
}

/**
 * Opens the output of an export: `file` (absolute; `output` is the name as typed, for messages),
 * or stdout through `toStdout` when `file` is null. `database` is the SQLite file being exported,
 * when there is one.
 */
export async function openExportOutput(
	file: string | null,
	output: string | undefined,
	database: string | null,
	toStdout: (text: string) => void,
): Promise<ExportOutput> {
	if (!file) return { write: async (text) => toStdout(text), finish: async () => undefined };
	if (database !== null && isSameFile(file, database)) {
		throw new CliError(
			`Refused: ${escapeText(output ?? file)} is the database being exported; writing the export there would destroy it. Nothing was written. Choose another file.`,
			EXIT.ERROR,
		);
	}
	const partial = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.partial`);
	// 'wx': O_CREAT | O_EXCL, which also refuses to follow a symbolic link at that name.
	const handle = await open(partial, 'wx', 0o600);
	return {
		write: async (text) => void (await handle.write(text)),
		async finish(complete) {
			if (complete) {
				// On disk before the rename makes it visible under its name.
				await handle.sync();
				await handle.close();
				await rename(partial, file);
			} else {
				await handle.close();
				await rm(partial, { force: true });
			}
		},
	};
}

/** Whether `output` names the database file (or its journal), by path or through a link. */
function isSameFile(output: string, database: string): boolean {
	let real: string;
	try {
		real = realpathSync(database);
	} catch {
		return false;
	}
	let target: string;
	try {
		target = realpathSync(output);
	} catch {
		// Does not exist yet: the path in the real directory.
		try {
			target = join(realpathSync(dirname(output)), basename(output));
		} catch {
			return false;
		}
	}
	if ([real, `${real}-wal`, `${real}-shm`, `${real}-journal`].includes(target)) return true;
	try {
		const a = statSync(real);
		const b = statSync(target);
		return a.dev === b.dev && a.ino === b.ino;
	} catch {
		return false;
	}
}
