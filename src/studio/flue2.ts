/**
 * The studio on a database Flue 2's runtime writes: the instance list, one instance as its
 * conversations (a tree of turns, child tasks inside the tool call that started them), its sizes
 * (how much of the stream is per-token delta records) and what doctor finds. Everything about the
 * format is asked of its owner, src/flue2; this module only shapes the answers for the page. It is
 * read-only: no route changes a row, whatever the studio was started with.
 *
 * - `GET /api/info`: the database (`format: "flue2"`);
 * - `GET /api/instances?q=&since=&sort=time|size|id&limit=`: the instances, summed up;
 * - `GET /api/instance?id=<agent>/<instanceId>`: one instance;
 * - `GET /api/doctor`, `POST /api/doctor`: the state of the doctor run, or start one.
 */
import { isFluePersistError } from '../errors.js';
import { checkFlue2 } from '../flue2/doctor.js';
import type { Flue2Conversation, Flue2Part, Flue2TimelineItem } from '../flue2/fold.js';
import {
	type Flue2Inspection,
	type Flue2Sql,
	type Flue2Stream,
	type Flue2Submission,
	flue2InstanceName,
	listFlue2Streams,
	listFlue2Submissions,
} from '../flue2/format.js';
import { findFlue2Instance, readFlue2Instance } from '../flue2/instance.js';
import { type Flue2InstanceSummary, summarizeFlue2Instance } from '../flue2/summary.js';
import type {
	Flue2ConversationView,
	Flue2InstanceAnswer,
	Flue2InstancePage,
	Flue2InstanceRow,
	Flue2ItemView,
	Flue2PartView,
	Flue2TurnView,
	StudioInfo,
} from './api-types.js';
import { DoctorJob } from './doctor-job.js';
import { HttpError, param, pickRoute, required, sinceParam, sortParam, wholeNumber } from './http.js';
import { DEFAULT_PREVIEW, type PreviewLimits, preview } from './session-view.js';

/** A Flue 2 database opened for reading, as the studio shows it. */
export interface Flue2StudioSource {
	format: 'flue2';
	sql: Flue2Sql;
	inspection: Flue2Inspection;
	/** The database for people: its URL with any password hidden. */
	describe: string;
}

/** Tells a Flue 2 source from a session store's. */
export function isFlue2Source(source: object): source is Flue2StudioSource {
	return (source as { format?: unknown }).format === 'flue2';
}

/** The agent and instance a stream or submission belongs to, as one map key. */
const instanceKey = (s: { agent: string | null; instanceId: string | null }) => JSON.stringify([s.agent, s.instanceId]);

/**
 * Instance summaries, kept while the stream does not move. A summary reads the whole stream, so
 * the list would read every stream at each keystroke of a search; a stream is append-only, so its
 * next offset and incarnation, with the states of its submissions, say when one is out of date.
 */
class Flue2Summaries {
	private cache = new Map<string, { key: string; summary: Flue2InstanceSummary }>();

	constructor(private readonly sql: Flue2Sql) {}

	async all(): Promise<Flue2InstanceSummary[]> {
		// Grouped once, so that a listing costs one pass over the submissions, not one per instance.
		const byInstance = new Map<string, Flue2Submission[]>();
		for (const s of await listFlue2Submissions(this.sql)) {
			const key = instanceKey(s);
			const list = byInstance.get(key);
			if (list) list.push(s);
			else byInstance.set(key, [s]);
		}
		const streams = await listFlue2Streams(this.sql);
		const out: Flue2InstanceSummary[] = [];
		for (const stream of streams) out.push(await this.of(stream, byInstance.get(instanceKey(stream)) ?? []));
		const live = new Set(streams.map((s) => s.path));
		for (const path of this.cache.keys()) if (!live.has(path)) this.cache.delete(path);
		return out;
	}

	/** The summary of one instance; `own` are its submissions, when the caller has them. */
	async of(stream: Flue2Stream, own?: Flue2Submission[]): Promise<Flue2InstanceSummary> {
		own ??= (await listFlue2Submissions(this.sql)).filter((s) => instanceKey(s) === instanceKey(stream));
		const key = JSON.stringify([stream.nextOffset, stream.incarnation, own.map((s) => s.status)]);
		const hit = this.cache.get(stream.path);
		if (hit?.key === key) return hit.summary;
		const summary = await summarizeFlue2Instance(this.sql, stream, own);
		this.cache.set(stream.path, { key, summary });
		return summary;
	}
}

const row = (s: Flue2InstanceSummary, problems: number): Flue2InstanceRow => ({ id: flue2InstanceName(s), ...s, problems });

function json(value: unknown): string {
	if (typeof value === 'string') return value;
	return JSON.stringify(value) ?? 'undefined';
}

function partView(part: Flue2Part, limits: PreviewLimits, child: Flue2ConversationView | null): Flue2PartView {
	switch (part.type) {
		case 'text':
		case 'reasoning':
			return { type: part.type, text: preview(part.text, limits.text), streaming: part.state === 'streaming' };
		case 'file':
			return { type: 'file', mediaType: part.mediaType, id: part.id ?? null, size: part.size ?? null, filename: part.filename ?? null };
		case 'dynamic-tool': {
			const output =
				part.state === 'output-available'
					? preview(json(part.output), limits.text)
					: part.state === 'output-error'
						? preview(part.errorText, limits.text)
						: null;
			const durationMs = part.state === 'input-available' ? null : (part.durationMs ?? null);
			return {
				type: 'tool',
				name: part.toolName,
				callId: part.toolCallId,
				input: preview(json(part.input), limits.args),
				state: part.state,
				output,
				durationMs,
				child,
			};
		}
	}
}

/** A message that opens a turn: what a person or the app sent, not what the runtime noted. */
const opensTurn = (item: Flue2TimelineItem) => item.kind === 'message' && (item.message.role === 'user' || item.message.purpose === 'dispatch');

/**
 * The conversations of an instance as trees of turns: each child task inside the tool call that
 * started it (where its parent's record names the call), else where it was retained; the root
 * first, then conversations nothing links (a crash between two appends leaves those).
 */
export function flue2ConversationViews(conversations: Flue2Conversation[], limits: PreviewLimits = DEFAULT_PREVIEW): Flue2ConversationView[] {
	const byId = new Map(conversations.map((c) => [c.conversationId, c]));
	const childOfCall = new Map<string, Flue2Conversation>();
	for (const c of conversations) {
		for (const item of c.timeline) {
			const child = item.kind === 'child' && item.toolCallId ? byId.get(item.conversationId) : undefined;
			if (child && item.kind === 'child') childOfCall.set(`${c.conversationId}\u0000${item.toolCallId}`, child);
		}
	}
	const drawn = new Set<string>();
	const view = (c: Flue2Conversation): Flue2ConversationView => {
		drawn.add(c.conversationId);
		const turns: Flue2TurnView[] = [];
		let turn: Flue2TurnView | null = null;
		const add = (item: Flue2ItemView, opens: boolean) => {
			if (opens || turn === null) {
				turn = { items: [] };
				turns.push(turn);
			}
			turn.items.push(item);
		};
		for (const item of c.timeline) {
			if (item.kind === 'message') {
				const m = item.message;
				const parts = m.parts.map((part) => {
					const child = part.type === 'dynamic-tool' ? childOfCall.get(`${c.conversationId}\u0000${part.toolCallId}`) : undefined;
					return partView(part, limits, child && !drawn.has(child.conversationId) ? view(child) : null);
				});
				add({ kind: 'message', id: m.id, role: m.role, purpose: m.purpose, display: m.display, parts }, opensTurn(item));
			} else if (item.kind === 'compaction') {
				add({ kind: 'compaction', recordId: item.recordId, summary: preview(item.summary, limits.text), tokensBefore: item.tokensBefore }, false);
			} else if (item.kind === 'child') {
				const child = byId.get(item.conversationId);
				if (child && drawn.has(child.conversationId)) continue;
				add({ kind: 'child', conversationId: item.conversationId, type: item.type, taskId: item.taskId, conversation: child ? view(child) : null }, false);
			} else {
				add({ kind: 'unknown', recordId: item.recordId, type: item.type, v: String(item.v) }, false);
			}
		}
		return { conversationId: c.conversationId, kind: c.kind, taskId: c.taskId, agent: c.agent, session: c.session, records: c.records, turns };
	};
	const out: Flue2ConversationView[] = [];
	for (const c of conversations) if (c.kind === 'root' && !drawn.has(c.conversationId)) out.push(view(c));
	for (const c of conversations) if (!drawn.has(c.conversationId)) out.push(view(c));
	return out;
}

type Route = (url: URL) => Promise<[status: number, body: unknown]>;

const LIST_LIMIT = 200;
const MAX_LIST_LIMIT = 5000;

/** The studio's API on a Flue 2 database, and the doctor job to stop when it closes. */
export function flue2Api(
	source: Flue2StudioSource,
	options: { now: () => number; preview?: PreviewLimits },
): { route(method: string, url: URL): Promise<[number, unknown]>; doctor: DoctorJob } {
	const { sql } = source;
	// Doctor over the whole database, never repairing.
	const doctor = new DoctorJob((hooks) => checkFlue2(sql, source.inspection, hooks));
	const summaries = new Flue2Summaries(sql);
	const limits = options.preview ?? DEFAULT_PREVIEW;

	const info: Route = async () => {
		const body: StudioInfo = {
			store: source.describe,
			format: 'flue2',
			backend: sql.dialect,
			layout: 'flue2',
			allowDelete: false,
			doctor: true,
			limits: { scanPerRequest: 0, sortScan: 0, sortCacheMs: 0 },
		};
		return [200, body];
	};

	const instances: Route = async (url) => {
		const sort = sortParam(url, 'time');
		const since = sinceParam(url, options.now());
		const q = (param(url, 'q') ?? '').toLowerCase();
		const limit = wholeNumber(url, 'limit', LIST_LIMIT, 1, MAX_LIST_LIMIT);
		const all = await summaries.all();
		const rows = all
			.filter(
				(s) =>
					(q === '' || flue2InstanceName(s).toLowerCase().includes(q)) && (since === null || (s.lastActivity !== null && Date.parse(s.lastActivity) >= since)),
			)
			.map((s) => row(s, doctor.problemsOf(flue2InstanceName(s)).length));
		const byId = (a: Flue2InstanceRow, b: Flue2InstanceRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
		if (sort === 'time') rows.sort((a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? '') || byId(a, b));
		else if (sort === 'size') rows.sort((a, b) => b.bytes - a.bytes || byId(a, b));
		else rows.sort(byId);
		const body: Flue2InstancePage = { instances: rows.slice(0, limit), matches: rows.length, total: all.length };
		return [200, body];
	};

	const instance: Route = async (url) => {
		const id = required(url, 'id');
		const stream = await findFlue2Instance(sql, id);
		if (!stream) throw new HttpError(404, `there is no instance ${JSON.stringify(id)} in ${source.describe}`);
		const name = flue2InstanceName(stream);
		const item = row(await summaries.of(stream), doctor.problemsOf(name).length);
		let conversations: Flue2ConversationView[] = [];
		let loadError: Flue2InstanceAnswer['loadError'] = null;
		let unsupported = 0;
		try {
			const read = await readFlue2Instance(sql, stream);
			conversations = flue2ConversationViews(read.conversations, limits);
			unsupported = read.unsupported;
		} catch (error) {
			// An instance that cannot be read whole is what doctor is for: say why, with its findings.
			if (!isFluePersistError(error) || error.code === 'INVALID_INPUT') throw error;
			loadError = { code: error.code, message: error.message };
		}
		const body: Flue2InstanceAnswer = {
			id: name,
			item,
			stream: { path: stream.path, nextOffset: stream.nextOffset, incarnation: stream.incarnation },
			conversations,
			loadError,
			unsupported,
			doctor: { state: doctor.current().state, problems: doctor.problemsOf(name) },
		};
		return [200, body];
	};

	const readOnly: Route = async () => {
		throw new HttpError(403, `${source.describe} is a Flue 2 database: the studio only reads it, and deletes nothing`);
	};

	const routes: Record<string, Route> = {
		'GET /api/info': info,
		'GET /api/instances': instances,
		'GET /api/instance': instance,
		'GET /api/doctor': async () => [200, doctor.current()],
		'POST /api/doctor': async () => [202, doctor.start()],
		'DELETE /api/session': readOnly,
		'DELETE /api/instance': readOnly,
	};

	return {
		doctor,
		async route(method, url) {
			return pickRoute(routes, method, url, ' on a Flue 2 database')(url);
		},
	};
}
