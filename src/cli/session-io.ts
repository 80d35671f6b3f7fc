/**
 * What the session commands (ls, show, export, import, copy, rm, prune, doctor) share: the
 * terminal they talk to (is it one, ask a question, Ctrl-C), opening a store from a URL with
 * the `--layout` / `--table` options, progress, and turning typed errors into CLI errors.
 */
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { isFluePersistError } from '../errors.js';
import type { Layout } from '../types.js';
import { openStore, type Intent, type OpenedStore } from '../tools/open-store.js';
import { startProgress, type Progress } from '../tools/progress.js';
import { CliError, EXIT, type CliIo } from './program.js';

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
export function processTerminal(): Terminal {
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
export function asCliError(error: unknown): unknown {
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
export function listenForInterrupt(io: CliIo, what: string): Interruption {
	let stopped = false;
	const dispose = terminalOf(io).onInterrupt(() => {
		stopped = true;
		io.err(`\nStopping: finishing the ${what} in flight (Ctrl-C again quits at once; no session is left half-written either way).\n`);
	});
	return { stopped: () => stopped, dispose };
}

/** A progress reporter that starts when the total is known. */
export function progressOf(io: CliIo, label: string, unit: string): ProgressReporter {
	const terminal = terminalOf(io);
	let progress: Progress | null = null;
	const reporter: ProgressReporter = {
		start(total) {
			progress = startProgress({ label, total, unit, tty: terminal.stderrIsTTY, stream: terminal.stderr, write: (text) => io.err(text) });
		},
		tick: () => progress?.tick(),
		log: (text) => (progress ? progress.log(text) : io.err(text.endsWith('\n') ? text : `${text}\n`)),
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
		throw new CliError(`Nothing was deleted: stdin is not a terminal, so there is no one to confirm. Run again with --yes to delete without asking:\n\n  ${again} --yes`, EXIT.ERROR);
	}
	const answer = (await terminal.ask(`${question} [y/N] `)).trim().toLowerCase();
	if (answer !== 'y' && answer !== 'yes') throw new CliError('Nothing was deleted.', EXIT.ERROR);
}

/** A command-line word quoted for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
	return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
