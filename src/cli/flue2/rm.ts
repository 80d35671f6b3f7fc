/**
 * `rm` on a Flue 2 database: deletes whole agent instances by id, after asking, one transaction
 * each (through the format owner, as `prune` does). Every id must name an instance and none may
 * have a submission the runtime has not settled, or nothing is deleted.
 */

import { unprefixedMessage } from '../../errors.js';
import { flue2InstanceName, flue2UnsettledPaths, listFlue2Streams } from '../../flue2/format.js';
import { findFlue2Instance } from '../../flue2/instance.js';
import { deleteFlue2Instance, Flue2OpenSubmissionsError, flue2LastActivity } from '../../flue2/write.js';
import { closestMatches, count, escapeText } from '../../tools/format.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { confirm, shellQuote } from '../session-io.js';
import { type Flue2Database, openFlue2ForWrite } from './open.js';
import { instanceLine } from './prune.js';

const quoted = (names: string[]) => names.map((n) => escapeText(JSON.stringify(n))).join(', ');

/** Deletes the instances `ids` names (`<agent>/<instance>`, or an instance id one agent has). */
export async function rmFlue2(io: CliIo, db: Flue2Database, urlText: string, ids: string[], options: { yes?: boolean }): Promise<void> {
	const found = new Map<string, { name: string; last: number | null }>();
	const missing: string[] = [];
	for (const id of new Set(ids)) {
		const stream = await findFlue2Instance(db.sql, id);
		if (!stream || stream.agent === null) missing.push(id);
		else if (!found.has(stream.path)) found.set(stream.path, { name: flue2InstanceName(stream), last: await flue2LastActivity(db.sql, stream) });
	}
	const ls = `flue-persist ls ${shellQuote(db.display)}`;
	if (missing.length > 0) {
		const streams = (await listFlue2Streams(db.sql)).filter((s) => s.agent !== null);
		// Compared in the form typed: <agent>/<instance>, or the instance id alone.
		const close = new Set<string>();
		for (const id of missing) {
			const byForm = new Map(streams.map((s) => [id.includes('/') ? flue2InstanceName(s) : s.instanceId!, flue2InstanceName(s)]));
			for (const match of closestMatches(id, byForm.keys())) close.add(byForm.get(match)!);
		}
		const hint = close.size > 0 ? ` The closest instances there: ${quoted([...close].slice(0, 5))}.` : '';
		throw new CliError(
			`Nothing was deleted: ${quoted(missing)} ${missing.length === 1 ? 'is not an instance' : 'are not instances'} in ${escapeText(db.display)} (a Flue 2 database).${hint} List the instances with ${ls}.`,
			EXIT.ERROR,
		);
	}
	const open = await flue2UnsettledPaths(db.sql);
	const busy = [...found].filter(([path]) => open.has(path)).map(([, f]) => f.name);
	if (busy.length > 0) {
		throw new CliError(
			`Nothing was deleted: ${quoted(busy)} ${busy.length === 1 ? 'has' : 'have'} submissions the runtime has not settled, so the app may be working on ${busy.length === 1 ? 'it' : 'them'}. Let it finish, then run rm again.`,
			EXIT.ERROR,
		);
	}
	const listing = [...found.values()].map((f) => instanceLine(f.name, f.last));
	io.err(`${escapeText(db.display)} (Flue 2):\n${listing.join('\n')}\n`);
	const names = [...found.values()].map((f) => f.name);
	const again = `flue-persist rm ${shellQuote(db.display)} ${names.map(shellQuote).join(' ')}`;
	await confirm(
		io,
		`Delete ${found.size === 1 ? 'this instance' : `these ${found.size} instances`} (stream, attachments and settled submissions)?`,
		options.yes === true,
		again,
	);
	const target = await openFlue2ForWrite(io, urlText);
	let deleted = 0;
	const gone: string[] = [];
	const refused: string[] = [];
	try {
		const order = [...found];
		for (const [i, [path, f]] of order.entries()) {
			try {
				if ((await deleteFlue2Instance(target.sql, path)) === 'deleted') deleted++;
				else gone.push(f.name);
			} catch (error) {
				if (error instanceof Flue2OpenSubmissionsError) refused.push(f.name);
				else if (i > 0) {
					const message = unprefixedMessage(error);
					throw new CliError(
						`Stopped at ${escapeText(f.name)} after deleting ${count(deleted, 'instance')} of ${found.size}: ${escapeText(message)} Every instance is whole or gone. The rest:\n\n  flue-persist rm ${shellQuote(db.display)} ${order
							.slice(i)
							.map(([, rest]) => shellQuote(rest.name))
							.join(' ')}`,
						EXIT.ERROR,
					);
				} else throw error;
			}
		}
	} finally {
		await target.close();
	}
	const goneNote = gone.length > 0 ? ` ${quoted(gone)} ${gone.length === 1 ? 'was' : 'were'} gone already.` : '';
	const summary = `Deleted ${count(deleted, 'instance')}.${goneNote}`;
	if (refused.length > 0) {
		throw new CliError(
			`${summary} ${quoted(refused)} got a submission the runtime has not settled since the listing and ${refused.length === 1 ? 'was' : 'were'} kept whole. Let the app finish, then run rm again.`,
			EXIT.ERROR,
		);
	}
	io.err(`${summary}\n`);
}
