/**
 * What one agent instance holds: counts and sizes read from its stream, attachments and
 * submissions through the format owner. `ls` prints one line of it; the studio shows the same.
 */
import type { CorruptError } from '../errors.js';
import { decodeFlue2Batch, type Flue2Record, type Flue2Sql, type Flue2Stream, type Flue2Submission, readFlue2Attachments, readFlue2Batches } from './format.js';
import type { Flue2InstanceSummary } from './summary-types.js';

export type { Flue2InstanceSummary };

const DELTA_TYPES = new Set(['assistant_text_delta', 'assistant_reasoning_delta']);

/** Reads one instance's stream end to end and sums it up. */
export async function summarizeFlue2Instance(sql: Flue2Sql, stream: Flue2Stream, submissions: Flue2Submission[]): Promise<Flue2InstanceSummary> {
	const conversations = new Set<string>();
	let records = 0;
	let batches = 0;
	let bytes = 0;
	let deltaRecords = 0;
	let deltaBytes = 0;
	let last: string | null = null;
	let unreadable = 0;
	const count = (record: Flue2Record) => {
		records++;
		if (typeof record.conversationId === 'string') conversations.add(record.conversationId);
		if (typeof record.timestamp === 'string' && (last === null || record.timestamp > last)) last = record.timestamp;
		if (DELTA_TYPES.has(record.type)) {
			deltaRecords++;
			deltaBytes += Buffer.byteLength(JSON.stringify(record), 'utf8');
		}
	};
	for await (const batch of readFlue2Batches(sql, stream.path, { onDamage: () => void unreadable++ })) {
		batches++;
		bytes += batch.storedBytes;
		try {
			decodeFlue2Batch(batch.text, `batch ${batch.seq}`).records.forEach(count);
		} catch {
			unreadable++;
		}
	}
	const streamBytes = bytes;
	const attachments = await readFlue2Attachments(sql, stream.path, { onDamage: (_id: string, _e: CorruptError) => void unreadable++ });
	bytes += attachments.reduce((n, a) => n + a.bytes.length, 0);
	const openSubmissions = submissions.filter((s) => s.agent === stream.agent && s.instanceId === stream.instanceId && s.status !== 'settled').length;
	return {
		agent: stream.agent,
		instanceId: stream.instanceId,
		path: stream.path,
		conversations: conversations.size,
		records,
		batches,
		bytes,
		streamBytes,
		deltaRecords,
		deltaBytes,
		attachments: attachments.length,
		lastActivity: last,
		openSubmissions,
		unreadable,
	};
}
