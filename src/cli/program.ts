/**
 * The command-line program: shared settings, exit codes and error handling. Each command lives
 * in its own file as a factory `(io) => Command`; `main.ts` registers it in one line.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { escapeLines } from '../tools/format.js';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = Object.freeze({
	/** The command did what was asked. */
	OK: 0,
	/** A user error: unknown connector or category, a file that would be overwritten, a failure. */
	ERROR: 1,
	/** The command line itself is wrong: unknown option, missing option value, options that conflict. */
	USAGE: 2,
});

/** What a command reads and writes, passed in so that commands never touch `process` directly. */
export interface CliIo {
	/** Machine-readable output (Markdown for an agent, results). */
	out(text: string): void;
	/** Messages for a person: listings, hints, notes, errors. */
	err(text: string): void;
	env: NodeJS.ProcessEnv;
	/** The directory relative paths are resolved against. */
	cwd: string;
}

/** Ends a command with a message on stderr and an exit code. */
export class CliError extends Error {
	constructor(
		message: string,
		readonly exitCode: number = EXIT.ERROR,
	) {
		super(message);
		this.name = 'CliError';
	}
}

/** The version of the installed package, shown by `--version`. */
function packageVersion(): string {
	// The same relative path holds from src/cli and from dist/cli.
	const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
	return pkg.version;
}

/** The root command, before any subcommand is added. */
export function createProgram(): Command {
	return new Command('flue-persist')
		.description('Durable session stores for Flue agents: install a store into your project, inspect stored sessions.')
		.version(packageVersion(), '-v, --version', 'print the version')
		.helpOption('-h, --help', 'show help')
		.helpCommand(false)
		.addHelpText(
			'after',
			'\nExit codes: 0 ok, 1 error (not found, refused, failed), 2 usage error.\nRun "flue-persist <command> --help" for the options of a command.\n',
		);
}

function allCommands(command: Command): Command[] {
	return [command, ...command.commands.flatMap(allCommands)];
}

/**
 * Parses `argv` (without node and script) and runs the command. Resolves to the exit code and
 * never calls `process.exit`, so that stdout is flushed when a large output is piped.
 */
export async function runProgram(program: Command, argv: string[], io: CliIo): Promise<number> {
	for (const command of allCommands(program)) {
		const path = command === program ? program.name() : `${program.name()} ${command.name()}`;
		if (command !== program) command.copyInheritedSettings(program);
		command
			.exitOverride()
			.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: (s, write) => write(s) })
			.showHelpAfterError(`Run "${path} --help" for usage.`);
	}
	try {
		await program.parseAsync(argv, { from: 'user' });
		return EXIT.OK;
	} catch (error) {
		// Commander has already printed its message; --help and --version end with exit code 0.
		if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
		if (error instanceof CliError) {
			// Messages quote ids and names from the store: nothing in them may reach the terminal raw.
			if (error.message) io.err(`${escapeLines(error.message.replace(/\n$/, ''))}\n`);
			return error.exitCode;
		}
		io.err(`[flue-persist] ${escapeLines(error instanceof Error ? error.message : String(error))}\n`);
		return EXIT.ERROR;
	}
}
