/**
 * What the session commands (ls, show, export, import, copy, rm, prune, doctor) share: the
 * terminal they talk to (is it one, ask a question, Ctrl-C), opening a store from a URL with
 * the `--layout` / `--table` options, progress, and turning typed errors into CLI errors.
 */
import { createInterface } from 'node:readline';
import { type Command, Option } from 'commander';
import { isFluePersistError } from '../errors.js';
import { count, escapeLines, escapeText } from '../tools/format.js';
import { type Intent, type OpenedStore, openStore } from '../tools/open-store.js';
import { type Progress, startProgress } from '../tools/progress.js';
import type { ExistingPolicy } from '../tools/transfer.js';
import type { Layout } from '../types.js';
import { CliError, type CliIo, EXIT } from './program.js';

/** The interactive side of a command: whether a person is there, their answers, their Ctrl-C. */
export interface Terminal {
	/** A person can answer questions on stdin. */
	readonly stdinIsTTY: boolean;
	/** stderr is a terminal: draw progress bars instead of lines. */
	readonly stderrIsTTY: boolean;
	/** The stream progress bars are drawn on. */
	readonly stderr: NodeJS.WritableStream;
	/** Asks a question on stderr and resolves to the line typed. */
	ask(question: string): Promise<string>;
	/** Calls `handler` on Ctrl-C; returns the function that stops listening. */
	onInterrupt(handler: () => void): () => void;
	/** All of stdin, for `import -`. */
	readStdin(): Promise<string>;
	/** Current time in milliseconds. */
	now(): number;
}

/** A CliIo that may bring its own terminal (tests do); otherwise the process's is used. */
export interface SessionCliIo extends CliIo {
	terminal?: Terminal;
}

/** The terminal of this process. */
function processTerminal(): Terminal {
	return {
		stdinIsTTY: process.stdin.isTTY === true,
		stderrIsTTY: process.stderr.isTTY === true,
		stderr: process.stderr,
		ask(question) {
			const rl = createInterface({ input: process.stdin, output: process.stderr });
			return new Promise((resolve) => {
				rl.question(question, (answer) => {
					rl.close();
					resolve(answer);
				});
				// Ctrl-D: no answer, which every question here reads as "no".
				rl.on('close', () => resolve(''));
			});
		},
		onInterrupt(handler) {
			let count = 0;
			const listener = () => {
				count++;
				if (count === 1) return handler();
				// A second Ctrl-C quits at once. Every write is one transaction, so even this leaves
				// no half-written session: the database rolls back what was not committed.
				process.removeListener('SIGINT', listener);
				process.kill(process.pid, 'SIGINT');
			};
			process.on('SIGINT', listener);
			return () => void process.removeListener('SIGINT', listener);
		},
		async readStdin() {
			const chunks: Buffer[] = [];
			for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
			return Buffer.concat(chunks).toString('utf8');
		},
		now: () => Date.now(),
	};
}

/** The terminal a command talks to. */
export function terminalOf(io: CliIo): Terminal {
	return (io as SessionCliIo).terminal ?? processTerminal();
}

/** `--layout` and `--table`, for commands that work on one store. */
export function storeOptions(command: Command): Command {
	return command
		.addOption(new Option('--layout <layout>', 'the layout to use when it cannot be detected, or to pick one of two').choices(['log', 'blob']))
		.option('--table <name>', 'the session table (blob) or table prefix (log), when the database holds several');
}

/** The `--layout` and `--table` values of a command. */
export interface StoreFlags {
	layout?: Layout;
	table?: string;
}

/** Turns errors of the tools into CLI errors that print their own message. */
function asCliError(error: unknown): unknown {
	if (error instanceof CliError) return error;
	if (isFluePersistError(error)) return new CliError(error.message, EXIT.ERROR);
	return error;
}

/** Runs a command body, turning typed errors into CLI errors. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (error) {
		throw asCliError(error);
	}
}

/** Opens a store for a command, runs `fn`, and closes the store whatever happens. */
export async function withStore<T>(io: CliIo, url: string, intent: Intent, flags: StoreFlags, fn: (opened: OpenedStore) => Promise<T>): Promise<T> {
	return guarded(async () => {
		const opened = await openStore(url, { cwd: io.cwd, intent, layout: flags.layout, table: flags.table });
		try {
			return await fn(opened);
		} finally {
			await opened.close();
		}
	});
}

/** Ctrl-C as a flag the work checks between sessions. */
export interface Interruption {
	stopped(): boolean;
	dispose(): void;
}

/** Listens for Ctrl-C until disposed: the first press asks the work to stop after what is in flight. */
function listenForInterrupt(io: CliIo, what: string): Interruption {
	let stopped = false;
	const dispose = terminalOf(io).onInterrupt(() => {
		stopped = true;
		io.err(`\nStopping: finishing the ${what} in flight (Ctrl-C again quits at once; no session is left half-written either way).\n`);
	});
	return { stopped: () => stopped, dispose };
}

/** A progress reporter that starts when the total is known. */
function progressOf(io: CliIo, label: string, unit: string): ProgressReporter {
	const terminal = terminalOf(io);
	let progress: Progress | null = null;
	const reporter: ProgressReporter = {
		start(total) {
			progress = startProgress({ label, total, unit, tty: terminal.stderrIsTTY, stream: terminal.stderr, write: (text) => io.err(text) });
		},
		tick: () => progress?.tick(),
		log: (raw) => {
			const text = escapeLines(raw.replace(/\n$/, ''));
			if (progress) progress.log(text);
			else io.err(`${text}\n`);
		},
		done: () => progress?.done(),
		hooks: (failed) => ({
			onTotal: (total) => reporter.start(total),
			onSession: (outcome) => {
				reporter.tick();
				if (outcome.status === 'failed') reporter.log(`${failed}: ${outcome.message}`);
			},
		}),
	};
	return reporter;
}

/**
 * Runs long work with a progress line and Ctrl-C as its stop flag (`what` names what is finished
 * in flight when it is pressed); both end when the work settles, before any clean-up of the caller.
 */
export async function withProgress<T>(
	io: CliIo,
	label: string,
	unit: string,
	what: string,
	work: (progress: ProgressReporter, interrupt: Interruption) => Promise<T>,
): Promise<T> {
	const progress = progressOf(io, label, unit);
	const interrupt = listenForInterrupt(io, what);
	try {
		return await work(progress, interrupt);
	} finally {
		progress.done();
		interrupt.dispose();
	}
}

export interface ProgressReporter {
	start(total: number): void;
	tick(): void;
	log(text: string): void;
	done(): void;
	/** The `onTotal` / `onSession` callbacks of a transfer, reporting a failed session with `failed: <message>`. */
	hooks(failed: string): { onTotal(total: number): void; onSession(outcome: { status: string; message?: string }): void };
}

/**
 * Asks before deleting: `--yes` skips the question; without a person at stdin (a script, a pipe)
 * the command refuses rather than wait for an answer that will not come.
 */
export async function confirm(io: CliIo, question: string, yes: boolean, again: string): Promise<void> {
	if (yes) return;
	const terminal = terminalOf(io);
	if (!terminal.stdinIsTTY) {
		throw new CliError(
			`Nothing was deleted: stdin is not a terminal, so there is no one to confirm. Run again with --yes to delete without asking:\n\n  ${again} --yes`,
			EXIT.ERROR,
		);
	}
	const answer = (await terminal.ask(`${question} [y/N] `)).trim().toLowerCase();
	if (answer !== 'y' && answer !== 'yes') throw new CliError('Nothing was deleted.', EXIT.ERROR);
}

/** A command-line word quoted for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
	if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
	// Control characters are written as escapes a shell turns back into them ($'…', bash and zsh),
	// so the printed command is both safe to show and right to paste.
	if (escapeText(word) !== word) return `$'${escapeText(word.replace(/[\\']/g, '\\$&'))}'`;
	return `'${word.replace(/'/g, "'\\''")}'`;
}

/** `--overwrite` and `--newer`, for the commands that write sessions into a store (copy, import). */
export function existingOptions(command: Command): Command {
	return command
		.addOption(new Option('--overwrite', 'replace sessions the destination holds with other content (default: leave them and report them)').conflicts('newer'))
		.addOption(new Option('--newer', "replace such a session only when the incoming one's updatedAt is later"));
}

/** The policy `--overwrite` / `--newer` ask for. */
export function existingPolicy(options: { overwrite?: boolean; newer?: boolean }): ExistingPolicy {
	return options.overwrite ? 'overwrite' : options.newer ? 'newer' : 'skip';
}

/** Sessions listed by id in a report; the rest are counted. */
const LISTED = 20;

/**
 * The report of sessions left at the destination because it holds other content under their ids,
 * with what to run to replace them; null when there are none.
 */
function skippedReport(skipped: string[], policy: ExistingPolicy, again: string): string | null {
	if (skipped.length === 0) return null;
	const ids = [...skipped].sort();
	const listed = ids.slice(0, LISTED).map((id) => `  ${JSON.stringify(id)}`);
	if (ids.length > LISTED) listed.push(`  … and ${ids.length - LISTED} more`);
	const why = `the destination holds other content under ${ids.length === 1 ? 'this id' : 'these ids'}${policy === 'newer' ? ', with an updatedAt that is not earlier' : ''}`;
	const remedy =
		policy === 'newer'
			? `To replace them all the same, run:\n\n  ${again} --overwrite`
			: `To replace those whose updatedAt is later in the source, or all of them, run:\n\n  ${again} --newer\n  ${again} --overwrite`;
	return `${ids.length === 1 ? '1 session was left as it is' : `${ids.length.toLocaleString('en-US')} sessions were left as they are`} (${why}):\n${listed.join('\n')}\n${remedy}`;
}

/** The report of what failed in a transfer (`2 sessions failed and were not copied:`, a line each); null when nothing did. */
export function failedReport(messages: string[], unit: string, verb: string): string | null {
	if (messages.length === 0) return null;
	return `${count(messages.length, unit)} failed and ${messages.length === 1 ? 'was' : 'were'} not ${verb}:\n${messages.map((m) => `  ${m}`).join('\n')}`;
}

/** Ends the command with exit 1 and the reports there are, a paragraph each; returns when every report is null. */
export function failWithReports(...reports: Array<string | null>): void {
	const problems = reports.filter((r): r is string => r !== null);
	if (problems.length > 0) throw new CliError(problems.join('\n\n'), EXIT.ERROR);
}

/**
 * Ends a transfer of sessions (copy, import) with exit 1 when some failed or were left at the
 * destination, saying which and what to run to replace them; returns when every session made it.
 */
export function failOnLeftBehind(result: { failed: Array<{ message: string }>; skipped: string[] }, policy: ExistingPolicy, again: string, verb: string): void {
	failWithReports(
		failedReport(
			result.failed.map((f) => f.message),
			'session',
			verb,
		),
		skippedReport(result.skipped, policy, again),
	);
}
