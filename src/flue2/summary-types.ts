/**
 * The shape of an instance summary, apart from the code that computes it (src/flue2/summary.ts):
 * it imports nothing, so that the studio's browser client, compiled without Node's types, reads
 * the same declaration through src/studio/api-types.ts.
 */

/** One agent instance, summed up. */
export interface Flue2InstanceSummary {
	agent: string | null;
	instanceId: string | null;
	/** The stream path, `agents/<agent>/<instanceId>`. */
	path: string;
	/** The root conversation and every child task conversation. */
	conversations: number;
	records: number;
	batches: number;
	/** Stored bytes: batch rows and their parts (UTF-8) plus attachment bytes. */
	bytes: number;
	/** The batches' share of `bytes`: the records alone, without attachments. */
	streamBytes: number;
	/** Records that carry one streamed piece of text (`assistant_text_delta`, `assistant_reasoning_delta`), and their JSON bytes. */
	deltaRecords: number;
	deltaBytes: number;
	attachments: number;
	/** ISO time of the last record, or null for an empty stream. */
	lastActivity: string | null;
	/** Submissions not settled yet. */
	openSubmissions: number;
	/** Batches that could not be read (parts missing, not JSON): `doctor` says more. */
	unreadable: number;
}
