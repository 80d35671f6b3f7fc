#!/usr/bin/env node
/**
 * The `flue-persist` command. A command is one file exporting `(io) => Command`, registered here
 * in one line.
 */
import { addCommand } from './add.js';
import { type CliIo, createProgram, runProgram } from './program.js';
import { sessionCommands } from './session-commands.js';
import { studioCommand } from './studio.js';

const io: CliIo = {
	out: (text) => void process.stdout.write(text),
	err: (text) => void process.stderr.write(text),
	env: process.env,
	cwd: process.cwd(),
};

// Without better-sqlite3 the tools open SQLite files with node:sqlite, and Node 22 warns at its
// first load that the module is experimental: a line before every command's output that says
// nothing about the command. Only that warning is dropped.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
	if ((typeof warning === 'string' ? warning : warning.message).startsWith('SQLite is an experimental feature')) return;
	emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

const program = createProgram();
program.addCommand(addCommand(io));
for (const command of sessionCommands(io)) program.addCommand(command);
program.addCommand(studioCommand(io));

process.exitCode = await runProgram(program, process.argv.slice(2), io);
