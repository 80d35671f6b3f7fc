/** `flue-persist ls` on a Flue 2 database: one row per agent instance. */
import { listFlue2Streams, listFlue2Submissions } from '../../flue2/format.js';
import { type Flue2InstanceSummary, summarizeFlue2Instance } from '../../flue2/summary.js';
import { columns, count, escapeText, formatBytes, formatTime } from '../../tools/format.js';
import type { CliIo } from '../program.js';
import type { Flue2Database } from './open.js';

/** The `ls` options that apply to a Flue 2 database, already checked by `ls`. */
export interface Flue2LsOptions {
	agent?: string;
	prefix?: string;
	since: number | null;
	sort: 'id' | 'time' | 'size';
	reverse?: boolean;
	limit?: number;
	json?: boolean;
}

const key = (s: Flue2InstanceSummary) => s.path;

/** Lists the agent instances of a Flue 2 database. */
export async function lsFlue2(io: CliIo, db: Flue2Database, options: Flue2LsOptions): Promise<void> {
	const submissions = await listFlue2Submissions(db.sql);
	const instances: Flue2InstanceSummary[] = [];
	for (const stream of await listFlue2Streams(db.sql)) {
		if (options.agent !== undefined && stream.agent !== options.agent) continue;
		if (options.prefix !== undefined && !(stream.instanceId ?? stream.path).startsWith(options.prefix)) continue;
		const summary = await summarizeFlue2Instance(db.sql, stream, submissions);
		if (options.since !== null && (summary.lastActivity === null || Date.parse(summary.lastActivity) < options.since)) continue;
		instances.push(summary);
	}
	if (options.sort === 'time') instances.sort((a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? '') || (key(a) < key(b) ? -1 : 1));
	else if (options.sort === 'size') instances.sort((a, b) => b.bytes - a.bytes || (key(a) < key(b) ? -1 : 1));
	if (options.reverse) instances.reverse();
	const shown = options.limit === undefined ? instances : instances.slice(0, options.limit);
	if (options.json) {
		io.out(`${JSON.stringify(shown, null, 2)}\n`);
		return;
	}
	const rows = [
		['AGENT', 'INSTANCE', 'CONVERSATIONS', 'RECORDS', 'SIZE', 'LAST ACTIVITY', 'OPEN'],
		...shown.map((s) => [
			escapeText(s.agent ?? '?'),
			escapeText(s.instanceId ?? s.path),
			String(s.conversations),
			String(s.records),
			formatBytes(s.bytes),
			s.lastActivity ? formatTime(s.lastActivity) : '-',
			String(s.openSubmissions),
		]),
	];
	const more = shown.length < instances.length ? ` (of ${instances.length.toLocaleString('en-US')})` : '';
	const total = shown.reduce((n, s) => n + s.bytes, 0);
	const damaged = shown.filter((s) => s.unreadable > 0).length;
	const note = damaged > 0 ? `\n${count(damaged, 'instance')} with unreadable batches or attachments: run flue-persist doctor.` : '';
	io.out(
		`${shown.length > 0 ? `${columns(rows, [2, 3, 4, 6])}\n` : ''}${count(shown.length, 'instance')}${more}, ${formatBytes(total)} (Flue 2 database)${note}\n`,
	);
}
