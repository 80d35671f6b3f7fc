/** One agent instance read whole: its stream row, records in offset order, and their fold. */
import { ConfigError, CorruptError } from '../errors.js';
import { type Flue2Conversation, foldFlue2Records } from './fold.js';
import { decodeFlue2Batch, type Flue2Record, type Flue2Sql, type Flue2Stream, getFlue2Stream, listFlue2Streams, readFlue2Batches } from './format.js';

/** An instance's records with the batch each came from. */
export interface Flue2InstanceRecords {
	stream: Flue2Stream;
	/** Every record, in stream order, with its batch offset. */
	records: Array<{ seq: number; record: Flue2Record }>;
	conversations: Flue2Conversation[];
	/** Records whose `v` this code does not decode (they are shown as unknown). */
	unsupported: number;
}

/**
 * Finds an instance by `<instanceId>`, `<agent>/<instanceId>` or its stream path. Null when
 * there is none; a ConfigError when a bare id names instances of several agents.
 */
export async function findFlue2Instance(sql: Flue2Sql, id: string): Promise<Flue2Stream | null> {
	const byPath = await getFlue2Stream(sql, id.startsWith('agents/') ? id : `agents/${id}`);
	if (byPath && id.includes('/')) return byPath;
	const matches = (await listFlue2Streams(sql)).filter((s) => s.instanceId === id);
	if (matches.length > 1) {
		throw new ConfigError(
			`instance ${JSON.stringify(id)} exists for several agents (${matches.map((m) => m.agent).join(', ')}). Name it as <agent>/<instance>, for example ${matches[0]!.agent}/${id}.`,
		);
	}
	return matches[0] ?? byPath;
}

/** Reads and folds one instance's whole stream. A batch that cannot be read is a CorruptError. */
export async function readFlue2Instance(sql: Flue2Sql, stream: Flue2Stream): Promise<Flue2InstanceRecords> {
	const records: Array<{ seq: number; record: Flue2Record }> = [];
	let unsupported = 0;
	for await (const batch of readFlue2Batches(sql, stream.path)) {
		const decoded = decodeFlue2Batch(batch.text, `batch ${batch.seq} of stream ${stream.path}`);
		unsupported += decoded.unsupported.length;
		for (const record of decoded.records) records.push({ seq: batch.seq, record });
	}
	if (records.length === 0 && stream.nextOffset > 0) {
		throw new CorruptError(
			`stream ${stream.path} says it holds ${stream.nextOffset} batches but none is stored. Run \`flue-persist doctor\` on the database.`,
			{ backend: 'flue2' },
		);
	}
	return { stream, records, conversations: foldFlue2Records(records.map((r) => r.record)), unsupported };
}
