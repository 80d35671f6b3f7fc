/** `flue-persist show` on a Flue 2 database: one agent instance as a person reads it, or its records with `--json`. */
import type { Flue2Conversation, Flue2Part } from '../../flue2/fold.js';
import { type Flue2InstanceRecords, findFlue2Instance, readFlue2Instance } from '../../flue2/instance.js';
import { formatFlue2Offset } from '../../flue2/names.js';
import { count, escapeText } from '../../tools/format.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { shellQuote } from '../session-io.js';
import type { Flue2Database } from './open.js';

function cut(line: string, width: number): string {
	return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

function json(value: unknown): string {
	const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
	return text;
}

function partLine(part: Flue2Part): string {
	switch (part.type) {
		case 'text':
			return `${escapeText(part.text)}${part.state === 'streaming' ? ' (cut off)' : ''}`;
		case 'reasoning':
			return `(thinking) ${escapeText(part.text)}`;
		case 'file':
			return `(file ${escapeText(part.mediaType)}${part.size !== undefined ? `, ${part.size} bytes` : ''}${part.id ? `, ${escapeText(part.id)}` : ''})`;
		case 'dynamic-tool': {
			const call = `tool ${escapeText(part.toolName)} ${escapeText(json(part.input))}`;
			if (part.state === 'input-available') return `${call} → (no result)`;
			if (part.state === 'output-error') return `${call} → error: ${escapeText(part.errorText)}`;
			const output = json(part.output);
			// The size first: a long result is cut at the line width, and its size is the news.
			const size = output.length > 200 ? `(${output.length.toLocaleString('en-US')} characters) ` : '';
			return `${call} → ${size}${escapeText(output.length > 2000 ? output.slice(0, 2000) : output)}`;
		}
	}
}

/** Renders an instance's conversations: the root, with child tasks nested where they were started. */
function renderFlue2Instance(instance: Flue2InstanceRecords, width: number): string {
	const { stream } = instance;
	const lines: string[] = [];
	const batches = new Set(instance.records.map((r) => r.seq)).size;
	lines.push(
		cut(
			`${escapeText(stream.agent ?? '?')}/${escapeText(stream.instanceId ?? stream.path)} · ${count(instance.records.length, 'record')} in ${count(batches, 'batch', 'batches')} · offset ${formatFlue2Offset(Math.max(0, stream.nextOffset - 1))}`,
			width,
		),
	);
	const byId = new Map(instance.conversations.map((c) => [c.conversationId, c]));
	// A child task is drawn under the tool call that started it, where its parent's record says so.
	const childOfCall = new Map<string, Flue2Conversation>();
	for (const c of instance.conversations) {
		for (const item of c.timeline) {
			const child = item.kind === 'child' && item.toolCallId ? byId.get(item.conversationId) : undefined;
			if (child && item.kind === 'child') childOfCall.set(`${c.conversationId}\u0000${item.toolCallId}`, child);
		}
	}
	const shown = new Set<string>();
	const render = (c: Flue2Conversation, depth: number) => {
		shown.add(c.conversationId);
		const pad = '  '.repeat(depth * 2);
		const label =
			c.kind === 'root'
				? 'conversation'
				: `${escapeText(c.kind)}${c.taskId ? ` ${escapeText(c.taskId)}` : ''}${c.agent ? ` (${escapeText(c.agent)})` : ''}, conversation`;
		lines.push(cut(`${pad}${label} ${escapeText(c.conversationId)}${c.session && c.kind === 'root' ? ` · session ${escapeText(c.session)}` : ''}`, width));
		for (const item of c.timeline) {
			if (item.kind === 'message') {
				const m = item.message;
				const role = m.role === 'system' ? `${m.purpose}${m.display === 'visible' ? '' : `, ${m.display}`}` : m.role;
				if (m.parts.length === 0) lines.push(cut(`${pad}  [${role}] (empty)`, width));
				for (const part of m.parts) {
					lines.push(cut(`${pad}  [${role}] ${partLine(part)}`, width));
					const child = part.type === 'dynamic-tool' ? childOfCall.get(`${c.conversationId}\u0000${part.toolCallId}`) : undefined;
					if (child && !shown.has(child.conversationId)) render(child, depth + 1);
				}
			} else if (item.kind === 'compaction') {
				lines.push(
					cut(
						`${pad}  ── compaction${item.tokensBefore !== null ? ` of ${item.tokensBefore.toLocaleString('en-US')} tokens` : ''}: ${escapeText(item.summary)}`,
						width,
					),
				);
			} else if (item.kind === 'child') {
				const child = byId.get(item.conversationId);
				if (child && !shown.has(child.conversationId)) render(child, depth + 1);
				else if (!child)
					lines.push(
						cut(`${pad}  ↳ ${escapeText(item.type)} ${escapeText(item.taskId ?? '')} → conversation ${escapeText(item.conversationId)} (no records)`, width),
					);
			} else {
				lines.push(
					cut(`${pad}  unknown (${escapeText(item.type)}${item.v !== 1 ? `, v ${escapeText(String(item.v))}` : ''}) ${escapeText(item.recordId)}`, width),
				);
			}
		}
	};
	for (const c of instance.conversations) if (!shown.has(c.conversationId) && c.kind === 'root') render(c, 0);
	// Conversations no retained-child record links (a crash between the two appends) still show.
	for (const c of instance.conversations) if (!shown.has(c.conversationId)) render(c, 0);
	if (instance.unsupported > 0)
		lines.push(`${count(instance.unsupported, 'record')} of a record version this flue-persist does not decode (shown as unknown).`);
	return `${lines.join('\n')}\n`;
}

/** Shows one instance of a Flue 2 database. */
export async function showFlue2(io: CliIo, db: Flue2Database, id: string, options: { json?: boolean; width: number }): Promise<void> {
	const stream = await findFlue2Instance(db.sql, id);
	if (!stream) {
		throw new CliError(
			`instance ${JSON.stringify(id)} is not in ${db.display} (a Flue 2 database). List the instances with:\n\n  flue-persist ls ${shellQuote(db.display)}`,
			EXIT.ERROR,
		);
	}
	const instance = await readFlue2Instance(db.sql, stream);
	if (options.json) {
		const out = {
			agent: stream.agent,
			instanceId: stream.instanceId,
			path: stream.path,
			stream,
			conversations: instance.conversations.map(({ timeline: _timeline, ...c }) => c),
			records: instance.records,
		};
		io.out(`${JSON.stringify(out, null, 2)}\n`);
		return;
	}
	io.out(renderFlue2Instance(instance, options.width));
}
