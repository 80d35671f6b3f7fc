/**
 * What the studio's JSON API answers, as the page reads it. The server builds these and the
 * client (src/studio/client) draws them; this file imports nothing that needs Node, so that both
 * programs compile against the same shapes.
 */
import type { Flue2InstanceSummary } from '../flue2/summary-types.js';
import type { SessionStats } from '../tools/session-tree.js';
import type { Layout } from '../types.js';

export type { SessionStats };

/** `GET /api/info`. */
export interface StudioInfo {
	store: string;
	/** `flue2`: a database Flue 2's runtime writes (the instance views and routes); otherwise a session store. */
	format: 'sessions' | 'flue2';
	backend: string;
	/** `flue2` for a Flue 2 database. */
	layout: Layout | 'memory' | 'flue2';
	allowDelete: boolean;
	/** Doctor can run over the database (a store with SQL under it). */
	doctor: boolean;
	limits: { scanPerRequest: number; sortScan: number; sortCacheMs: number };
}

/** One session in `GET /api/sessions`. */
export interface SessionListRow {
	id: string;
	updatedAt: string;
	bytes: number;
	/** Problems the last doctor run found in it. */
	problems: number;
}

/** `GET /api/sessions`. */
export interface SessionListPage {
	sessions: SessionListRow[];
	cursor: string | null;
	scanned: number;
	matches?: number;
	complete?: boolean;
}

/** One finding, from the checks on the loaded data or from a doctor run. */
export interface ProblemView {
	kind: string;
	sessionId: string | null;
	table: string;
	detail: string;
	remedy: string;
	fixable: boolean;
}

/** `GET /api/doctor`: where a doctor run stands. */
export interface DoctorStatus {
	/** `unavailable`: the studio has no raw access to the database (a store without SQL under it). */
	state: 'unavailable' | 'idle' | 'running' | 'done' | 'failed';
	/** Sessions checked so far, and how many there are (null until counted). */
	done: number;
	total: number | null;
	startedAt: string | null;
	finishedAt: string | null;
	checked: Array<{ table: string; layout: Layout; sessions: number }>;
	/** Every problem found, and the sessions they belong to. */
	problems: number;
	sessions: number;
	/** Damage to the database as a whole (the format stamp), not to one session. */
	database: ProblemView[];
	incomplete: string | null;
	error: string | null;
}

/** A text cut to its preview length. */
export interface Preview {
	text: string;
	/** The full text is longer than `text`. */
	truncated: boolean;
	/** Characters in the full text. */
	length: number;
}

/** A tool call with the result folded into it. */
export interface ToolCallView {
	callId: string;
	name: string;
	args: Preview;
	/** The result entry when it follows the call directly; null when it is elsewhere or missing. */
	result: { index: number; id: string; text: Preview; isError: boolean; lines: number; bytes: number } | null;
}

/** The first row of a branch names the branch. */
export interface BranchStart {
	/** 1-based position among the fork's branches. */
	number: number;
	of: number;
	onPath: boolean;
	/** Entries in the branch, the start included. */
	entries: number;
}

/** One entry of the tree, in the order the page draws them. */
export interface EntryRow {
	kind: 'entry';
	/** Forks this row sits inside (0 on the trunk). */
	depth: number;
	/** Set on the first row of a branch: which branch of its fork it starts. */
	branch?: BranchStart;
	/** Position in `entries`, which is how `/api/entry` finds it again. */
	index: number;
	id: string;
	parentId: string | null;
	type: string;
	timestamp: string | null;
	/** `message` entries: user, assistant, toolResult, or whatever role a later Flue adds. */
	role: string | null;
	text: Preview | null;
	thinking: Preview | null;
	error: string | null;
	toolCalls: ToolCallView[];
	/** Ids of tool result entries drawn inside this row's tool calls. */
	folded: string[];
	compaction: { tokensBefore: number | null; firstKeptEntryId: string | null } | null;
	branchSummary: { fromId: string | null } | null;
	/** Unknown entry types: the entry as compact JSON, cut. */
	json: Preview | null;
	/** UTF-8 bytes of this entry's JSON, folded results not included. */
	bytes: number;
	onPath: boolean;
	leaf: boolean;
	/** On the path to a compaction, before the entry it keeps: the model sees only its summary. */
	summarized: boolean;
	/** Drawn after the tree because it is reachable from no root (a cycle of parent links). */
	unreachable: boolean;
}

/** An entry with several children (or a session with several roots): the branches follow. */
export interface ForkRow {
	kind: 'fork';
	depth: number;
	/** The entry the branches grow from; null for several roots. */
	from: string | null;
	branches: number;
}

/**
 * A branch whose fork is nested deeper than the page draws: one row in its place, which the page
 * opens on request (`GET /api/rows?from=<index>`).
 */
export interface CollapsedRow {
	kind: 'collapsed';
	depth: number;
	branch?: BranchStart;
	/** Position of the entry that starts the branch. */
	index: number;
	id: string;
	/** Entries in the branch. */
	entries: number;
	onPath: boolean;
}

/** A row of the tree. */
export type TreeRow = EntryRow | ForkRow | CollapsedRow;

/** A page of the rows of a tree (`GET /api/rows`, and the first page in `GET /api/session`). */
export interface RowPage {
	/** The revision of the session the rows were drawn from; rows of another revision do not fit. */
	rev: string;
	/** The entry (position) the drawing starts at; null for the whole session. */
	from: number | null;
	offset: number;
	rows: TreeRow[];
	/** Rows in the whole drawing. */
	total: number;
}

/** How the session grew: cumulative JSON bytes, entry by entry, in stored order. */
export interface Growth {
	/** Bytes of the session without its entries (version, leaf, metadata, times). */
	headerBytes: number;
	/** `headerBytes` plus every entry. */
	totalBytes: number;
	entries: number;
	/** `[entry number (1-based), bytes so far]`, thinned to at most a few hundred points. */
	points: Array<[number, number]>;
	/** Entry numbers (1-based) of compactions. */
	compactions: number[];
	/** The largest entries, largest first. */
	largest: Array<{ index: number; id: string; bytes: number }>;
}

/** Everything the page shows about a session, with the first page of its tree. */
export interface SessionView {
	id: string;
	stats: SessionStats;
	header: { version: unknown; createdAt: unknown; updatedAt: unknown; metadata: Preview | null; extraFields: string[] };
	tree: RowPage;
	/** Forks nested deeper than this are collapsed. */
	maxForkDepth: number;
	/**
	 * Where to draw from to see the leaf without paging through the whole tree: an ancestor a few
	 * dozen entries up its path (`GET /api/rows?from=`). Null without a leaf.
	 */
	leafTail: { from: number; entries: number } | null;
	growth: Growth;
	/** Damage visible in the loaded data itself (the checks doctor runs on every session). */
	problems: ProblemView[];
}

/** `GET /api/session`: the view, or why the store refused to load the session. */
export type SessionAnswer =
	| (SessionView & { item: Omit<SessionListRow, 'problems'> | null; doctor: { state: DoctorStatus['state']; problems: ProblemView[] } })
	| {
			id: string;
			item: Omit<SessionListRow, 'problems'> | null;
			loadError: { code: string; message: string };
			doctor: { state: DoctorStatus['state']; problems: ProblemView[] };
	  };

// ---- Flue 2 databases ------------------------------------------------------------------------

/** One agent instance of a Flue 2 database in `GET /api/instances`: what `ls` prints of it. */
export interface Flue2InstanceRow extends Flue2InstanceSummary {
	/** `<agent>/<instanceId>`, or the stream path when it has no agent: how the page names it. */
	id: string;
	/** Problems the last doctor run found in it. */
	problems: number;
}

/** `GET /api/instances`. */
export interface Flue2InstancePage {
	instances: Flue2InstanceRow[];
	/** Instances that match, before `limit`. */
	matches: number;
	/** Instances in the database. */
	total: number;
}

/** A part of a message of a Flue 2 conversation, cut to previews. */
export type Flue2PartView =
	| { type: 'text' | 'reasoning'; text: Preview; streaming: boolean }
	| { type: 'file'; mediaType: string; id: string | null; size: number | null; filename: string | null }
	| {
			type: 'tool';
			name: string;
			callId: string;
			input: Preview;
			state: 'input-available' | 'output-available' | 'output-error';
			/** The output, or the error text. */
			output: Preview | null;
			durationMs: number | null;
			/** The child task this call started, drawn inside the call. */
			child: Flue2ConversationView | null;
	  };

/** What a person reads of a Flue 2 conversation, in stream order. */
export type Flue2ItemView =
	| { kind: 'message'; id: string; role: string; purpose: string; display: string; parts: Flue2PartView[] }
	| { kind: 'compaction'; recordId: string; summary: Preview; tokensBefore: number | null }
	/** A child task whose start no tool call of this conversation names: drawn where it was retained. */
	| { kind: 'child'; conversationId: string; type: string; taskId: string | null; conversation: Flue2ConversationView | null }
	| { kind: 'unknown'; recordId: string; type: string; v: string };

/** A turn: a user message (or a signal) and what answered it; the first turn may start without one. */
export interface Flue2TurnView {
	items: Flue2ItemView[];
}

/** One conversation of an instance: the root, or a child task's, with its own tasks nested in it. */
export interface Flue2ConversationView {
	conversationId: string;
	kind: string;
	taskId: string | null;
	agent: string | null;
	session: string | null;
	records: number;
	turns: Flue2TurnView[];
}

/** `GET /api/instance`: one agent instance, its sizes, its conversations as trees of turns, its problems. */
export interface Flue2InstanceAnswer {
	id: string;
	item: Flue2InstanceRow;
	stream: { path: string; nextOffset: number; incarnation: string };
	/** The root conversation first; conversations no record links to a parent follow. */
	conversations: Flue2ConversationView[];
	/** Why the instance could not be read (a batch with a part missing, …); its findings still show. */
	loadError: { code: string; message: string } | null;
	/** Records of a version this flue-persist does not decode. */
	unsupported: number;
	doctor: { state: DoctorStatus['state']; problems: ProblemView[] };
}
