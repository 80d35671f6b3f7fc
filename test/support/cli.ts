/** Runs the session commands in-process with captured output, as a shell would run `flue-persist`. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createProgram, runProgram } from '../../src/cli/program.js';
import { sessionCommands } from '../../src/cli/session-commands.js';
import type { SessionCliIo, Terminal } from '../../src/cli/session-io.js';
import { studioCommand } from '../../src/cli/studio.js';
import { root } from './paths.js';

/**
 * The terminal of a script: stdin and stderr are not TTYs, no one answers a question, and Ctrl-C
 * comes only through `onInterrupt` (given a handler, it returns the function that removes it).
 */
export function scriptTerminal(onInterrupt: Terminal['onInterrupt'] = () => () => undefined): Terminal {
	return {
		stdinIsTTY: false,
		stderrIsTTY: false,
		stderr: process.stderr,
		ask: async () => '',
		onInterrupt,
		readStdin: async () => '',
		now: () => Date.now(),
	};
}

/** `terminal`, when given, is the terminal the commands see (for example `scriptTerminal()` with another clock). */
export async function runSessionCli(argv: string[], cwd: string, terminal?: Terminal): Promise<{ code: number; out: string; err: string }> {
	const out: string[] = [];
	const err: string[] = [];
	const io: SessionCliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {}, cwd, ...(terminal ? { terminal } : {}) };
	const program = createProgram();
	for (const command of sessionCommands(io)) program.addCommand(command);
	const code = await runProgram(program, argv, io);
	return { code, out: out.join(''), err: err.join('') };
}

/**
 * Starts `flue-persist studio <args>` in-process with captured output and no terminal, as a person
 * starts it; `pressCtrlC()` stops it (the command's own interrupt handler) and `exit` resolves to
 * its exit code.
 */
export function startStudioCli(args: string[], cwd: string) {
	let out = '';
	let err = '';
	let interrupt: (() => void) | null = null;
	const io: SessionCliIo = {
		out: (text) => void (out += text),
		err: (text) => void (err += text),
		env: {},
		cwd,
		terminal: scriptTerminal((handler) => {
			interrupt = handler;
			return () => void (interrupt = null);
		}),
	};
	const program = createProgram();
	program.addCommand(studioCommand(io));
	const exit = runProgram(program, ['studio', ...args], io);
	return {
		exit,
		out: () => out,
		err: () => err,
		/** Whether the studio is serving (it has set its Ctrl-C handler). */
		listening: () => interrupt !== null,
		pressCtrlC: () => (interrupt as (() => void) | null)?.(),
	};
}

/**
 * Writes a script (run with tsx) that builds the session commands as src/cli/main.ts does, on the
 * process's own stdout and stderr, in a variable `program` with its `io`; `lines` follow and run them.
 */
export function writeCliScript(file: string, lines: string[]): void {
	const src = (p: string) => pathToFileURL(join(root, 'src', p)).href;
	writeFileSync(
		file,
		[
			`import { createProgram, runProgram } from '${src('cli/program.ts')}';`,
			`import { sessionCommands } from '${src('cli/session-commands.ts')}';`,
			'const io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t), env: process.env, cwd: process.cwd() };',
			'const program = createProgram();',
			...lines,
		].join('\n'),
	);
}
