/** The session tooling commands, in the order `--help` lists them. */
import type { Command } from 'commander';
import { copyCommand } from './copy.js';
import { doctorCommand } from './doctor.js';
import { exportCommand } from './export.js';
import { resetCommand } from './flue2/reset.js';
import { importCommand } from './import.js';
import { lsCommand } from './ls.js';
import type { CliIo } from './program.js';
import { pruneCommand } from './prune.js';
import { rmCommand } from './rm.js';
import { showCommand } from './show.js';

/** ls, show, export, import, copy, rm, prune, doctor and reset (Flue 2 databases), built for one CliIo. */
export function sessionCommands(io: CliIo): Command[] {
	return [lsCommand, showCommand, exportCommand, importCommand, copyCommand, rmCommand, pruneCommand, doctorCommand, resetCommand].map((make) => make(io));
}
