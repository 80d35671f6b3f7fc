/**
 * LangGraph's PostgresSaver, driven the way a LangGraph agent uses it: a StateGraph over
 * MessagesAnnotation with one node, invoked once per turn on one thread_id. The user message is
 * the input; the node returns the turn's tool call, tool result and reply, so each invoke
 * appends the same four messages Flue appends. Save latency is the whole invoke (LangGraph
 * awaits its checkpoint writes before invoke resolves); the full load is `getTuple`, what
 * LangGraph runs to resume a thread.
 *
 * The packages are imported by name at run time from this folder's own node_modules, so the
 * library and its type-check never depend on them. Only the calls used here are typed.
 */
import type { SessionData, SessionEntry } from '../../src/index.js';
import type { BenchSystem } from '../harness.js';
import { type Admin, schemaBytes } from '../systems/postgres.js';

type Message = object;
/** A pg Pool of the bench's own driver (LangGraph's saver takes any pg Pool). */
export interface PoolLike {
	query(text: string): Promise<unknown>;
	end(): Promise<void>;
}
interface Saver {
	setup(): Promise<void>;
	getTuple(config: object): Promise<{ checkpoint: { channel_values: { messages?: unknown[] } } } | undefined>;
}
interface Compiled {
	invoke(input: object, config: object): Promise<unknown>;
}
interface LangGraph {
	StateGraph: new (
		annotation: unknown,
	) => {
		addNode(name: string, fn: (state: unknown, config: { configurable: Record<string, unknown> }) => Promise<object>): any;
	};
	MessagesAnnotation: unknown;
	START: string;
	END: string;
}
interface LangChainMessages {
	HumanMessage: new (fields: object) => Message;
	AIMessage: new (fields: object) => Message;
	ToolMessage: new (fields: object) => Message;
}

const THREAD = 'bench-thread';

function textOf(entry: SessionEntry): string {
	const content = (entry as { message?: { content?: Array<{ text?: string }> } }).message?.content;
	return content?.[0]?.text ?? '';
}

export async function langgraphSystem(admin: Admin, schema: string, pool: PoolLike): Promise<BenchSystem> {
	const specifiers = ['@langchain/langgraph', '@langchain/langgraph-checkpoint-postgres', '@langchain/core/messages'];
	const [lg, cp, msgs] = (await Promise.all(specifiers.map((s) => import(s)))) as [
		LangGraph,
		{ PostgresSaver: new (pool: PoolLike, serde: undefined, options: { schema: string }) => Saver },
		LangChainMessages,
	];
	const saver = new cp.PostgresSaver(pool, undefined, { schema });
	const graph: Compiled = new lg.StateGraph(lg.MessagesAnnotation)
		.addNode('agent', async (_state, config) => ({ messages: config.configurable.reply }))
		.addEdge(lg.START, 'agent')
		.addEdge('agent', lg.END)
		.compile({ checkpointer: saver });
	const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
	const meta = { model_name: 'canned-1', finish_reason: 'stop' };
	return {
		name: 'LangGraph PostgresSaver',
		database: 'postgres',
		async setup() {
			await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
			await saver.setup();
		},
		async save(_session: SessionData, added: SessionEntry[], turn: number) {
			const [user, call, result, reply] = added as [SessionEntry, SessionEntry, SessionEntry, SessionEntry];
			const callId = `call_${result.id}`;
			const messages = [
				new msgs.AIMessage({
					id: call.id,
					content: '',
					tool_calls: [{ id: callId, name: 'bash', args: { command: `echo step ${turn - 1}` }, type: 'tool_call' }],
					usage_metadata: usage,
					response_metadata: meta,
				}),
				new msgs.ToolMessage({ id: result.id, tool_call_id: callId, name: 'bash', content: textOf(result) }),
				new msgs.AIMessage({ id: reply.id, content: textOf(reply), usage_metadata: usage, response_metadata: meta }),
			];
			await graph.invoke(
				{ messages: [new msgs.HumanMessage({ id: user.id, content: textOf(user) })] },
				{ configurable: { thread_id: THREAD, reply: messages } },
			);
		},
		async load() {
			const tuple = await saver.getTuple({ configurable: { thread_id: THREAD } });
			return tuple?.checkpoint.channel_values.messages?.length ?? 0;
		},
		storageBytes: () => schemaBytes(admin, schema),
		async close() {
			await pool.end();
		},
	};
}
