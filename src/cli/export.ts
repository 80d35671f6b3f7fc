/**
 * `flue-persist export <store>`: every session (or those under a prefix) as JSON Lines, to stdout
 * or to a file. A file is written under a temporary name and renamed when complete, so an
 * interrupted export never leaves a file that looks whole. The temporary file is created
 * exclusively, under a random name beside the output: a file or link planted at a predictable
 * name is never written through.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { count, escapeText } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { exportSessions } from '../tools/transfer.js';
import { exportFlue2 } from './flue2/export.js';
import { runIfFlue2 } from './flue2/open.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { type StoreFlags, shellQuote, storeOptions, withProgress, withStore } from './session-io.js';

interface ExportOptions extends StoreFlags {
	output?: string;
	prefix?: string;
	force?: boolean;
	agent?: string;
	checkpoints?: boolean;
}

/** The `export` command. */
export function exportCommand(io: CliIo): Command {
	const command = new Command('export')
		.summary('export sessions to a portable JSON Lines file')
		.description(
			'Export sessions as JSON Lines: a header line with the format version, one line per session with a sha256 checksum, and an end line with the count. `flue-persist import` reads it into any store. A file is written under a temporary name beside it and appears only when complete; it is readable by its owner only.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.option('-o, --output <file>', 'write to this file instead of stdout')
		.option('--prefix <prefix>', 'only sessions (Flue 2: instances) whose id starts with this')
		.option('--force', 'replace the output file if it exists')
		.option('--agent <name>', 'Flue 2 databases: only the instances of this agent')
		.option('--checkpoints', 'Flue 2 databases: include fold checkpoints (a cache the runtime rebuilds)');
	return storeOptions(command)
		.addHelpText(
			'after',
			'\nExamples:\n  flue-persist export sqlite:./data/sessions.db -o sessions.jsonl\n  flue-persist export postgres://localhost/app --prefix support- | gzip > support.jsonl.gz',
		)
		.action((store: string, options: ExportOptions) => exportTo(io, store, options));
}

async function exportTo(io: CliIo, url: string, options: ExportOptions): Promise<void> {
	const file = options.output === undefined || options.output === '-' ? null : resolve(io.cwd, options.output);
	if (file && existsSync(file) && !options.force)
		throw new CliError(`${options.output} exists and was left as it is. Pass --force to replace it, or choose another file.`, EXIT.ERROR);
	// Flue 2 databases are exported by src/cli/flue2 (whole agent instances).
	if (await runIfFlue2(io, url, (db) => exportFlue2(io, db, options), { flags: options })) return;
	if (options.agent !== undefined || options.checkpoints) throw new CliError('--agent and --checkpoints apply to Flue 2 databases only.', EXIT.USAGE);
	await withStore(io, url, 'read', options, async ({ store, target, describe, database }) => {
		if (file && database.handle.kind === 'sqlite' && isSameFile(file, database.handle.file)) {
			throw new CliError(
				`Refused: ${options.output} is the database being exported; writing the export there would destroy it. Nothing was written. Choose another file.`,
				EXIT.ERROR,
			);
		}
		const partial = file ? join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.partial`) : null;
		// 'wx': O_CREAT | O_EXCL, which also refuses to follow a symbolic link at that name.
		const handle = partial ? await open(partial, 'wx', 0o600) : null;
		const write = handle ? async (text: string) => void (await handle.write(text)) : async (text: string) => io.out(text);
		let result: Awaited<ReturnType<typeof exportSessions>>;
		try {
			result = await withProgress(io, 'export', 'sessions', 'session', (progress, interrupt) =>
				exportSessions(store, write, {
					prefix: options.prefix,
					source: { backend: store.backend, layout: target.layout, table: target.table },
					stopped: interrupt.stopped,
					...progress.hooks('skipped'),
				}),
			);
		} catch (error) {
			await handle?.close();
			if (partial) await rm(partial, { force: true });
			throw error;
		}
		if (handle) {
			if (result.interrupted) {
				await handle.close();
				await rm(partial!, { force: true });
			} else {
				// On disk before the rename makes it visible under its name.
				await handle.sync();
				await handle.close();
				await rename(partial!, file!);
			}
		}
		const where = file ? options.output! : 'stdout';
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${count(result.copied, 'session')} of ${result.total.toLocaleString('en-US')}. ${file ? `No file was written (${options.output} is only created by a complete export).` : 'The output has no end line, so import will refuse it.'} Run the export again.`,
				EXIT.ERROR,
			);
		}
		io.err(`Exported ${count(result.copied, 'session')} from ${escapeText(describe)} to ${escapeText(where)}.\n`);
		if (result.failed.length > 0) {
			throw new CliError(
				`${count(result.failed.length, 'session')} could not be read and ${result.failed.length === 1 ? 'is' : 'are'} not in the export:\n${result.failed.map((f) => `  ${f.message}`).join('\n')}\nRun flue-persist doctor ${shellQuote(redactUrl(url))} to find the damage.`,
				EXIT.ERROR,
			);
		}
	});
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
