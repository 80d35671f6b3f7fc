/**
 * `prune --older-than` on a Flue 2 database: deletes whole agent instances not active for that
 * long, one transaction each, through the format owner. An instance with a submission the runtime
 * has not settled is never deleted; it is reported.
 */

import { flue2InstanceName, flue2UnsettledPaths, listFlue2Streams } from '../../flue2/format.js';
import { deleteFlue2Instance, Flue2OpenSubmissionsError, flue2LastActivity } from '../../flue2/write.js';
import { count, escapeText, formatTime } from '../../tools/format.js';
import { redactUrl } from '../../tools/open-store.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { confirm, shellQuote, withProgress } from '../session-io.js';
import { type Flue2Database, openFlue2ForWrite } from './open.js';

/** The `prune` options that apply to a Flue 2 database. */
export interface Flue2PruneOptions {
	olderThan: string;
	cutoff: number;
	agent?: string;
	prefix?: string;
	dryRun?: boolean;
	yes?: boolean;
}

const SHOWN = 10;

/** One instance in a listing before a deletion: its name and when it was last active (epoch ms, or null for never). */
export function instanceLine(name: string, last: number | null): string {
	return `  ${escapeText(name)}  (last active ${last === null ? 'never' : formatTime(new Date(last).toISOString())})`;
}

/** Lists the instances older than the cutoff, asks, and deletes them (nothing with `--dry-run`). */
export async function pruneFlue2(io: CliIo, db: Flue2Database, urlText: string, options: Flue2PruneOptions): Promise<void> {
	const open = await flue2UnsettledPaths(db.sql);
	const old: Array<{ path: string; name: string; last: number | null }> = [];
	const busy: string[] = [];
	for (const stream of await listFlue2Streams(db.sql)) {
		if (stream.agent === null) continue;
		if (options.agent !== undefined && stream.agent !== options.agent) continue;
		if (options.prefix !== undefined && !stream.instanceId!.startsWith(options.prefix)) continue;
		const last = await flue2LastActivity(db.sql, stream);
		if (last !== null && last >= options.cutoff) continue;
		const name = flue2InstanceName(stream);
		if (open.has(stream.path)) busy.push(name);
		else old.push({ path: stream.path, name, last });
	}
	const since = new Date(options.cutoff).toISOString();
	const busyNote =
		busy.length > 0
			? `${count(busy.length, 'instance')} with submissions the runtime has not settled ${busy.length === 1 ? 'is' : 'are'} kept (let the app finish them, then prune again):\n${busy.map((b) => `  ${escapeText(b)}`).join('\n')}\n`
			: '';
	if (old.length === 0) {
		io.err(`No instance in ${escapeText(db.display)} was last active before ${formatTime(since)} (${options.olderThan} ago).\n${busyNote}`);
		return;
	}
	const listing = old.slice(0, SHOWN).map((o) => instanceLine(o.name, o.last));
	if (old.length > SHOWN) listing.push(`  … and ${count(old.length - SHOWN, 'more instance')}`);
	io.err(`${count(old.length, 'instance')} in ${escapeText(db.display)} (Flue 2) last active before ${formatTime(since)}:\n${listing.join('\n')}\n${busyNote}`);
	if (options.dryRun) {
		io.err('Dry run: nothing was deleted.\n');
		return;
	}
	const again = `flue-persist prune ${shellQuote(redactUrl(urlText))} --older-than ${shellQuote(options.olderThan)}${options.agent ? ` --agent ${shellQuote(options.agent)}` : ''}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
	await confirm(
		io,
		`Delete ${old.length === 1 ? 'this instance' : `these ${old.length.toLocaleString('en-US')} instances`} (stream, attachments and settled submissions)?`,
		options.yes === true,
		again,
	);
	const target = await openFlue2ForWrite(io, urlText);
	let deleted = 0;
	let kept = 0;
	const refused: string[] = [];
	let stopped: boolean;
	try {
		stopped = await withProgress(io, 'prune', 'instances', 'deletion', async (progress, interrupt) => {
			progress.start(old.length);
			for (const o of old) {
				if (interrupt.stopped()) break;
				try {
					if ((await deleteFlue2Instance(target.sql, o.path, { olderThan: options.cutoff })) === 'deleted') deleted++;
					else kept++;
				} catch (error) {
					if (!(error instanceof Flue2OpenSubmissionsError)) throw error;
					refused.push(o.name);
				}
				progress.tick();
			}
			return interrupt.stopped();
		});
	} finally {
		await target.close();
	}
	const keptNote = kept > 0 ? ` ${count(kept, 'instance')} active again (or deleted) since the listing ${kept === 1 ? 'was' : 'were'} left alone.` : '';
	const refusedNote =
		refused.length > 0
			? ` ${count(refused.length, 'instance')} got an unsettled submission meanwhile and ${refused.length === 1 ? 'was' : 'were'} kept: ${refused.map(escapeText).join(', ')}.`
			: '';
	if (stopped && deleted + kept + refused.length < old.length) {
		throw new CliError(
			`Interrupted: deleted ${count(deleted, 'instance')} of ${old.length.toLocaleString('en-US')}.${keptNote}${refusedNote} Every instance is whole or gone. Run the same command again to delete the rest.`,
			EXIT.ERROR,
		);
	}
	io.err(`Deleted ${count(deleted, 'instance')}.${keptNote}${refusedNote}\n`);
}
