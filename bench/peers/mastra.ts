/**
 * Mastra's PostgresStore, driven the way Mastra's memory uses it: a thread created once, then
 * each turn's four messages saved to it with `saveMessages` (format v2: a tool call and its
 * result are tool-invocation parts, as Mastra records them). The full load is `getMessages` of
 * every message of the thread.
 *
 * Imported by name at run time from this folder's own node_modules; only the calls used are typed.
 */
import type { SessionData, SessionEntry } from '../../src/index.js';
import type { BenchSystem } from '../harness.js';
import { type Admin, schemaBytes } from '../systems/postgres.js';

interface MastraStore {
	init(): Promise<void>;
	saveThread(args: { thread: object }): Promise<unknown>;
	saveMessages(args: { messages: object[]; format: 'v2' }): Promise<unknown>;
	getMessages(args: { threadId: string; format: 'v2'; selectBy: { last: number } }): Promise<unknown[]>;
	close(): Promise<void>;
}

const THREAD = 'bench-thread';
const RESOURCE = 'bench-user';
const BASE = Date.UTC(2026, 0, 1);

function textOf(entry: SessionEntry): string {
	const content = (entry as { message?: { content?: Array<{ text?: string }> } }).message?.content;
	return content?.[0]?.text ?? '';
}

export async function mastraSystem(url: string, admin: Admin, schema: string): Promise<BenchSystem> {
	const specifier = '@mastra/pg';
	const { PostgresStore } = (await import(specifier)) as { PostgresStore: new (config: object) => MastraStore };
	const store = new PostgresStore({ connectionString: url, schemaName: schema, max: 4 });
	let count = 0;
	const message = (entry: SessionEntry, role: 'user' | 'assistant', parts: object[]) => ({
		id: entry.id,
		threadId: THREAD,
		resourceId: RESOURCE,
		role,
		// Distinct, increasing times: Mastra orders a thread's messages by createdAt.
		createdAt: new Date(BASE + count++),
		content: { format: 2, parts },
	});
	return {
		name: 'Mastra PostgresStore',
		database: 'postgres',
		async setup() {
			await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
			await store.init();
			await store.saveThread({
				thread: { id: THREAD, resourceId: RESOURCE, title: 'bench', metadata: {}, createdAt: new Date(BASE), updatedAt: new Date(BASE) },
			});
		},
		async save(_session: SessionData, added: SessionEntry[], turn: number) {
			const [user, call, result, reply] = added as [SessionEntry, SessionEntry, SessionEntry, SessionEntry];
			const toolCallId = `call_${result.id}`;
			const args = { command: `echo step ${turn - 1}` };
			await store.saveMessages({
				format: 'v2',
				messages: [
					message(user, 'user', [{ type: 'text', text: textOf(user) }]),
					message(call, 'assistant', [{ type: 'tool-invocation', toolInvocation: { state: 'call', toolCallId, toolName: 'bash', args } }]),
					message(result, 'assistant', [
						{ type: 'tool-invocation', toolInvocation: { state: 'result', toolCallId, toolName: 'bash', args, result: textOf(result) } },
					]),
					message(reply, 'assistant', [{ type: 'text', text: textOf(reply) }]),
				],
			});
		},
		async load() {
			const messages = await store.getMessages({ threadId: THREAD, format: 'v2', selectBy: { last: count } });
			return messages.length;
		},
		storageBytes: () => schemaBytes(admin, schema),
		async close() {
			await store.close();
		},
	};
}
