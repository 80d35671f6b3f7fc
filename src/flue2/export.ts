/**
 * The export of Flue 2 instances as checksummed JSON Lines. Each instance line holds everything
 * needed to put the instance back byte for byte: the stream row, every batch's text with its
 * parts joined, attachments (base64), settled submissions, and (on request) the fold checkpoint,
 * flagged as a cache the runtime rebuilds.
 *
 * ```
 * {"format":"flue-persist-export","version":1,"kind":"flue2","flueFormatVersion":"1","exportedAt":"…","source":{"backend":"sqlite"}}
 * {"instance":"support/ticket-1","checksum":"sha256:…","data":{"stream":{…},"batches":[…],"attachments":[…],"submissions":[…]}}
 * {"end":true,"instances":1}
 * ```
 */
import { createHash } from 'node:crypto';
import { canonicalJson, EXPORT_FORMAT, EXPORT_VERSION } from '../tools/export-format.js';
import {
	type Flue2Batch,
	type Flue2Row,
	type Flue2Sql,
	type Flue2Stream,
	flue2InstanceName,
	readFlue2Attachments,
	readFlue2Batches,
	readFlue2Checkpoint,
	readFlue2SettledSubmissions,
} from './format.js';
import { FLUE2_FORMAT_VERSION } from './names.js';

/** The `kind` of an export of Flue 2 instances. */
export const FLUE2_EXPORT_KIND = 'flue2';

/** The header line of a Flue 2 export. */
export interface Flue2ExportHeader {
	format: typeof EXPORT_FORMAT;
	version: number;
	kind: typeof FLUE2_EXPORT_KIND;
	flueFormatVersion: string;
	exportedAt: string;
	source: { backend: string };
}

/** One batch as exported: its row's columns as the format reads them, and `data`, the batch's JSON text exactly as the runtime wrote it. */
export interface Flue2ExportBatch extends Pick<Flue2Batch, 'seq' | 'producerId' | 'producerEpoch' | 'producerSequence' | 'submissionId' | 'attemptId'> {
	data: string;
}

/** Everything an instance line carries. */
export interface Flue2ExportData {
	stream: Omit<Flue2Stream, 'agent' | 'instanceId'>;
	batches: Flue2ExportBatch[];
	attachments: Array<{ attachmentId: string; mimeType: string; byteSize: number; digest: string; conversationId: string; createdAt: number; bytes: string }>;
	/** Settled submissions: the rows of `flue_agent_submissions`, every column. */
	submissions: Flue2Row[];
	/** Present with `checkpoints: true`; a cache of the runtime's fold, never needed to read the instance. */
	checkpoint?: { cache: true; headOffset: string; incarnation: string; formatVersion: number; data: string } | null;
}

/** One instance line. */
export interface Flue2ExportLine {
	instance: string;
	/** `sha256:` and the hex digest of `canonicalJson({ instance, data })`. */
	checksum: string;
	data: Flue2ExportData;
}

/** The checksum of an instance line. */
export function flue2ExportChecksum(instance: string, data: Flue2ExportData): string {
	return `sha256:${createHash('sha256').update(canonicalJson({ instance, data })).digest('hex')}`;
}

/** The header line. */
export function flue2ExportHeader(backend: string, now: Date = new Date()): Flue2ExportHeader {
	return {
		format: EXPORT_FORMAT,
		version: EXPORT_VERSION,
		kind: FLUE2_EXPORT_KIND,
		flueFormatVersion: FLUE2_FORMAT_VERSION,
		exportedAt: now.toISOString(),
		source: { backend },
	};
}

/** Reads one instance for export. Damage (a missing part) is thrown as CorruptError: an export never holds a partial instance. */
export async function exportFlue2Instance(sql: Flue2Sql, stream: Flue2Stream, options: { checkpoints?: boolean } = {}): Promise<Flue2ExportLine> {
	const batches: Flue2ExportBatch[] = [];
	for await (const b of readFlue2Batches(sql, stream.path)) {
		batches.push({
			seq: b.seq,
			producerId: b.producerId,
			producerEpoch: b.producerEpoch,
			producerSequence: b.producerSequence,
			submissionId: b.submissionId,
			attemptId: b.attemptId,
			data: b.text,
		});
	}
	const attachments = (await readFlue2Attachments(sql, stream.path)).map((a) => ({
		attachmentId: a.attachmentId,
		mimeType: a.mimeType,
		byteSize: a.byteSize,
		digest: a.digest,
		conversationId: a.conversationId,
		createdAt: a.createdAt,
		bytes: a.bytes.toString('base64'),
	}));
	const submissions = stream.agent !== null && stream.instanceId !== null ? await readFlue2SettledSubmissions(sql, stream.agent, stream.instanceId) : [];
	const { agent: _agent, instanceId: _instanceId, ...row } = stream;
	const data: Flue2ExportData = { stream: row, batches, attachments, submissions };
	if (options.checkpoints) {
		const c = await readFlue2Checkpoint(sql, stream.path);
		data.checkpoint = c ? { cache: true, headOffset: c.headOffset, incarnation: c.incarnation, formatVersion: c.formatVersion, data: c.text } : null;
	}
	const instance = flue2InstanceName(stream);
	return { instance, checksum: flue2ExportChecksum(instance, data), data };
}
