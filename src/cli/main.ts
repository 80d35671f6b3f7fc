#!/usr/bin/env node
/**
 * The `flue-persist` command. A command is one file exporting `(io) => Command`, registered here
 * in one line.
 */
import { addCommand } from './add.js';
import { sessionCommands } from './session-commands.js';
import { studioCommand } from './studio.js';
import { createProgram, runProgram, type CliIo } from './program.js';

const io: CliIo = {
	out: (text) => void process.stdout.write(text),
	err: (text) => void process.stderr.write(text),
	env: process.env,
	cwd: process.cwd(),
};

const program = createProgram();
program.addCommand(addCommand(io));
for (const command of sessionCommands(io)) program.addCommand(command);
program.addCommand(studioCommand(io));

process.exitCode = await runProgram(program, process.argv.slice(2), io);
