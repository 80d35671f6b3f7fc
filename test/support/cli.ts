/** Runs the session commands in-process with captured output, as a shell would run `flue-persist`. */
import { createProgram, runProgram, type CliIo } from '../../src/cli/program.js';
import { sessionCommands } from '../../src/cli/session-commands.js';

export async function runSessionCli(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
	const out: string[] = [];
	const err: string[] = [];
	const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {}, cwd };
	const program = createProgram();
	for (const command of sessionCommands(io)) program.addCommand(command);
	const code = await runProgram(program, argv, io);
	return { code, out: out.join(''), err: err.join('') };
}
