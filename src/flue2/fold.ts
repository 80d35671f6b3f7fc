/**
 * Folds a stream's records into conversations a person can read: messages with text joined from
 * their deltas, tool calls with their outcomes, compactions, child tasks, and every record this
 * code does not know kept as "unknown". The runtime's own fold is not public; the message shape
 * here matches its public snapshot (`createAgentRouter`, `GET /<instanceId>`) for the records
 * documented in docs/flue2.md, and unlike that snapshot it also holds child task conversations.
 */
import type { Flue2Record } from './format.js';

/** A part of a folded message (the runtime's public part shapes). */
export type Flue2Part =
	| { type: 'text'; text: string; state: 'streaming' | 'done' }
	| { type: 'reasoning'; text: string; state: 'streaming' | 'done' }
	| { type: 'file'; mediaType: string; id?: string; size?: number; filename?: string }
	| { type: 'dynamic-tool'; toolName: string; toolCallId: string; state: 'input-available'; input: unknown }
	| { type: 'dynamic-tool'; toolName: string; toolCallId: string; state: 'output-available'; input: unknown; output: unknown; durationMs?: number }
	| { type: 'dynamic-tool'; toolName: string; toolCallId: string; state: 'output-error'; input: unknown; errorText: string; durationMs?: number };

/** A folded message: one user message, one signal, or one whole assistant response. */
export interface Flue2Message {
	id: string;
	role: 'user' | 'assistant' | 'system';
	purpose: 'user' | 'assistant' | 'dispatch' | 'advisory';
	display: 'visible' | 'hidden' | 'diagnostic';
	submissionId?: string;
	turnId?: string;
	signal?: { tagName?: string; attributes?: Record<string, string> };
	settlement?: { outcome: 'failed' | 'aborted' };
	parts: Flue2Part[];
}

/** What a person reads of a conversation, in stream order. */
export type Flue2TimelineItem =
	| { kind: 'message'; message: Flue2Message }
	| { kind: 'compaction'; recordId: string; summary: string; tokensBefore: number | null; firstKeptEntryId: string | null }
	| { kind: 'child'; conversationId: string; type: string; taskId: string | null; toolCallId: string | null }
	| { kind: 'unknown'; recordId: string; type: string; v: unknown };

/** One conversation of a stream: the root, or a child task's. */
export interface Flue2Conversation {
	conversationId: string;
	/** `root`, `task`, or what `conversation_created` says. */
	kind: string;
	harness: string | null;
	session: string | null;
	parentConversationId: string | null;
	taskId: string | null;
	/** The subagent a task ran. */
	agent: string | null;
	createdAt: string | null;
	messages: Flue2Message[];
	timeline: Flue2TimelineItem[];
	records: number;
}

/** Record types that are bookkeeping: folded into nothing a person reads, never "unknown". */
const BOOKKEEPING = new Set([
	'resource_snapshot',
	'agent_start_run',
	'agent_finish_cycle',
	'submission_settled',
	'tool_results_committed',
	'state_write',
	'message_data_write',
	'message_metadata',
	'tool_step_settled',
]);

function classifySignal(type: string): Pick<Flue2Message, 'purpose' | 'display' | 'settlement'> {
	switch (type) {
		case 'stream_interrupted':
		case 'stream_continued':
			return { purpose: 'advisory', display: 'hidden' };
		case 'submission_aborted':
			return { purpose: 'advisory', display: 'diagnostic', settlement: { outcome: 'aborted' } };
		case 'submission_interrupted':
			return { purpose: 'advisory', display: 'diagnostic', settlement: { outcome: 'failed' } };
		case 'resources':
		case 'instructions':
		case 'environment':
			return { purpose: 'advisory', display: 'diagnostic' };
		default:
			return { purpose: 'dispatch', display: 'diagnostic' };
	}
}

type Block =
	| { type: 'text' | 'reasoning'; blockIndex: number; deltas: Map<number, string>; completed: boolean }
	| { type: 'tool'; blockIndex: number; toolCallId: string; name: string; input: unknown };

interface OpenMessage {
	messageId: string;
	conversationId: string;
	submissionId?: string;
	turnId?: string;
	blocks: Map<string, Block>;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function blockParts(blocks: Map<string, Block>, done: boolean): Flue2Part[] {
	return [...blocks.values()]
		.sort((a, b) => a.blockIndex - b.blockIndex)
		.map((block): Flue2Part => {
			if (block.type === 'tool')
				return { type: 'dynamic-tool', toolCallId: block.toolCallId, toolName: block.name, input: block.input, state: 'input-available' };
			// Deltas are joined in their sequence order, whatever order their records came in.
			const text = [...block.deltas.entries()]
				.sort((a, b) => a[0] - b[0])
				.map(([, d]) => d)
				.join('');
			return { type: block.type, text, state: done || block.completed ? 'done' : 'streaming' };
		});
}

/** The message an assistant response makes: `done` when it completed, else as it stands (still streaming). */
function responseMessage(m: OpenMessage, done: boolean): Flue2Message {
	return {
		id: m.messageId,
		role: 'assistant',
		purpose: 'assistant',
		display: 'visible',
		...(m.submissionId ? { submissionId: m.submissionId } : {}),
		...(m.turnId ? { turnId: m.turnId } : {}),
		parts: blockParts(m.blocks, done),
	};
}

function toolResultText(content: unknown): string {
	if (!Array.isArray(content)) return '';
	return content
		.filter((b) => (b as { type?: unknown }).type === 'text')
		.map((b) => String((b as { text?: unknown }).text ?? ''))
		.join('\n');
}

function toolResultOutput(content: unknown): unknown {
	if (Array.isArray(content) && content.length === 1 && (content[0] as { type?: unknown }).type === 'text') return (content[0] as { text?: unknown }).text;
	return content;
}

/**
 * Folds records (in stream order) into their conversations, the root first, then child
 * conversations in the order they were created.
 */
export function foldFlue2Records(records: Iterable<Flue2Record>): Flue2Conversation[] {
	const conversations = new Map<string, Flue2Conversation>();
	const open = new Map<string, OpenMessage>();
	const responses = new Map<string, Flue2Message>();
	const conversationOf = (record: Flue2Record): Flue2Conversation => {
		let c = conversations.get(record.conversationId);
		if (!c) {
			c = {
				conversationId: record.conversationId,
				kind: 'unknown',
				harness: s(record.harness) ?? null,
				session: s(record.session) ?? null,
				parentConversationId: null,
				taskId: null,
				agent: null,
				createdAt: null,
				messages: [],
				timeline: [],
				records: 0,
			};
			conversations.set(record.conversationId, c);
		}
		return c;
	};
	const push = (c: Flue2Conversation, message: Flue2Message) => {
		// One message per assistant response: every step of a submission folds into its first message.
		if (message.role === 'assistant' && message.submissionId) {
			const key = `${c.conversationId}\u0000${message.submissionId}`;
			const first = responses.get(key);
			if (first) {
				first.parts.push(...message.parts);
				return;
			}
			responses.set(key, message);
		}
		c.messages.push(message);
		c.timeline.push({ kind: 'message', message });
	};
	for (const record of records) {
		const c = conversationOf(record);
		c.records++;
		if (record.v !== 1) {
			c.timeline.push({ kind: 'unknown', recordId: String(record.id), type: String(record.type), v: record.v });
			continue;
		}
		const r = record as Flue2Record & Record<string, unknown>;
		const submissionId = s(r.submissionId);
		const turnId = s(r.turnId);
		const ids = { ...(submissionId ? { submissionId } : {}), ...(turnId ? { turnId } : {}) };
		switch (record.type) {
			case 'conversation_created':
				c.kind = s(r.kind) ?? c.kind;
				c.parentConversationId = s(r.parentConversationId) ?? null;
				c.taskId = s(r.taskId) ?? null;
				c.agent = s(r.agent) ?? null;
				c.createdAt = s(r.createdAt) ?? s(r.timestamp) ?? null;
				break;
			case 'user_message': {
				const parts: Flue2Part[] = [];
				const content = r.content;
				if (typeof content === 'string') parts.push({ type: 'text', text: content, state: 'done' });
				else if (Array.isArray(content)) {
					for (const block of content as Array<Record<string, unknown>>) {
						if (block.type === 'text') parts.push({ type: 'text', text: String(block.text ?? ''), state: 'done' });
						else if (block.type === 'attachment') {
							const a = (block.attachment ?? {}) as Record<string, unknown>;
							parts.push({
								type: 'file',
								mediaType: String(a.mimeType ?? ''),
								id: s(a.id),
								size: typeof a.size === 'number' ? a.size : undefined,
								...(s(a.filename) ? { filename: s(a.filename) } : {}),
							});
						}
					}
				}
				push(c, { id: String(r.messageId ?? r.id), role: 'user', purpose: 'user', display: 'visible', ...ids, parts });
				break;
			}
			case 'signal': {
				const signal = { ...(s(r.tagName) ? { tagName: s(r.tagName) } : {}), ...(r.attributes ? { attributes: r.attributes as Record<string, string> } : {}) };
				const { purpose, display, settlement } = classifySignal(String(r.signalType ?? ''));
				push(c, {
					id: String(r.messageId ?? r.id),
					role: 'system',
					purpose,
					display,
					...ids,
					...(Object.keys(signal).length > 0 ? { signal } : {}),
					...(settlement ? { settlement } : {}),
					parts: [{ type: 'text', text: String(r.content ?? ''), state: 'done' }],
				});
				break;
			}
			case 'assistant_message_started':
				open.set(String(r.messageId), { messageId: String(r.messageId), conversationId: record.conversationId, ...ids, blocks: new Map() });
				break;
			case 'assistant_text_started':
			case 'assistant_reasoning_started': {
				const m = open.get(String(r.messageId));
				if (m)
					m.blocks.set(String(r.blockId), {
						type: record.type === 'assistant_text_started' ? 'text' : 'reasoning',
						blockIndex: Number(r.blockIndex ?? m.blocks.size),
						deltas: new Map(),
						completed: false,
					});
				break;
			}
			case 'assistant_text_delta':
			case 'assistant_reasoning_delta': {
				const block = open.get(String(r.messageId))?.blocks.get(String(r.blockId));
				if (block && block.type !== 'tool') block.deltas.set(Number(r.sequence ?? block.deltas.size), String(r.delta ?? ''));
				break;
			}
			case 'assistant_text_completed':
			case 'assistant_reasoning_completed': {
				const block = open.get(String(r.messageId))?.blocks.get(String(r.blockId));
				if (block && block.type !== 'tool') block.completed = true;
				break;
			}
			case 'assistant_tool_call': {
				const m = open.get(String(r.messageId));
				if (m)
					m.blocks.set(String(r.blockId ?? r.toolCallId), {
						type: 'tool',
						blockIndex: Number(r.blockIndex ?? m.blocks.size),
						toolCallId: String(r.toolCallId),
						name: String(r.name),
						input: r.arguments,
					});
				break;
			}
			case 'assistant_message_completed': {
				const m = open.get(String(r.messageId));
				if (!m) break;
				open.delete(m.messageId);
				push(c, responseMessage(m, true));
				break;
			}
			case 'tool_outcome': {
				const toolCallId = String(r.toolCallId);
				// The latest call with this id still waiting for its output (ids are unique per step only).
				outer: for (let i = c.messages.length - 1; i >= 0; i--) {
					const parts = c.messages[i]!.parts;
					for (let j = parts.length - 1; j >= 0; j--) {
						const p = parts[j]!;
						if (p.type !== 'dynamic-tool' || p.toolCallId !== toolCallId || p.state !== 'input-available') continue;
						const durationMs = typeof r.durationMs === 'number' ? { durationMs: r.durationMs } : {};
						parts[j] = r.isError
							? {
									type: 'dynamic-tool',
									toolName: p.toolName,
									toolCallId,
									state: 'output-error',
									input: p.input,
									errorText: toolResultText(r.content),
									...durationMs,
								}
							: {
									type: 'dynamic-tool',
									toolName: p.toolName,
									toolCallId,
									state: 'output-available',
									input: p.input,
									output: 'output' in r ? r.output : toolResultOutput(r.content),
									...durationMs,
								};
						break outer;
					}
				}
				break;
			}
			case 'compaction':
				c.timeline.push({
					kind: 'compaction',
					recordId: String(r.id),
					summary: String(r.summary ?? ''),
					tokensBefore: typeof r.tokensBefore === 'number' ? r.tokensBefore : null,
					firstKeptEntryId: s(r.firstKeptEntryId) ?? null,
				});
				break;
			case 'child_session_retained': {
				const child = (r.child ?? {}) as Record<string, unknown>;
				c.timeline.push({
					kind: 'child',
					conversationId: String(child.conversationId),
					type: String(child.type ?? 'task'),
					taskId: s(child.taskId) ?? null,
					toolCallId: s(child.parentToolCallId) ?? null,
				});
				break;
			}
			default:
				if (!BOOKKEEPING.has(record.type)) c.timeline.push({ kind: 'unknown', recordId: String(r.id), type: record.type, v: record.v });
		}
	}
	// A response still streaming when the records end (an interrupted turn) is shown as it stands.
	for (const m of open.values()) {
		const owner = conversations.get(m.conversationId);
		if (!owner) continue;
		push(owner, responseMessage(m, false));
	}
	const all = [...conversations.values()];
	return [...all.filter((c) => c.kind === 'root'), ...all.filter((c) => c.kind !== 'root')];
}
