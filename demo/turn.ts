/**
 * One turn of the demo conversation, in a process of its own: open the SQLite store, let a Flue
 * agent answer one message, exit. Nothing survives between two runs of this file except the
 * database. demo.ts starts it twice.
 */

import { registerProvider } from '@flue/sdk/app';
import { bashFactoryToSessionEnv, createFlueContext, resolveModel } from '@flue/sdk/internal';
import { Bash, InMemoryFs } from 'just-bash';
import { sqliteStore } from '../src/backends/sqlite/index.js';

export interface TurnConfig {
	db: string;
	model: string;
	/** Set when the demo model stands in for a real provider. */
	demoModelUrl?: string;
	agentId: string;
	sessionId: string;
	turn: 1 | 2;
	message: string;
}

/** What a turn reports back to demo.ts. */
export interface TurnReport {
	reply: string;
	/** The messages of the last request sent to the model, as role and text. */
	sent: Array<{ role: string; text: string }>;
}

const textOf = (content: unknown): string =>
	typeof content === 'string'
		? content
		: Array.isArray(content)
			? content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('')
			: '';

/**
 * Records the conversation in each request the process sends to a model, whatever the provider:
 * chat-style APIs send `messages`, OpenAI's Responses API sends `input`.
 */
function watchModelRequests(): { last: () => TurnReport['sent'] } {
	let last: TurnReport['sent'] = [];
	const original = globalThis.fetch;
	globalThis.fetch = (input, init) => {
		if (typeof init?.body === 'string') {
			try {
				const body = JSON.parse(init.body) as { messages?: unknown; input?: unknown };
				const list = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : null;
				if (list) {
					last = list
						.filter((m: { role?: unknown }) => m?.role === 'user' || m?.role === 'assistant')
						.map((m: { role: string; content?: unknown }) => ({ role: m.role, text: textOf(m.content) }));
				}
			} catch {
				// not a JSON request: not a model call
			}
		}
		return original(input, init);
	};
	return { last: () => last };
}

const config = JSON.parse(process.argv[2] ?? '') as TurnConfig;
const requests = watchModelRequests();

if (config.demoModelUrl) registerProvider('demo', { api: 'openai-completions', baseUrl: config.demoModelUrl, apiKey: 'none' });

const store = sqliteStore(config.db);

// A Flue server builds one such context per request; the demo builds it itself.
const context = createFlueContext({
	id: config.agentId,
	payload: {},
	env: process.env,
	agentConfig: {
		systemPrompt: '',
		skills: {},
		roles: {},
		model: undefined,
		resolveModel,
		// The demo model has no context window for Flue to measure; real models do.
		compaction: { enabled: !config.demoModelUrl },
	},
	createDefaultEnv: async () => {
		const fs = new InMemoryFs();
		return bashFactoryToSessionEnv(() => new Bash({ fs }));
	},
	createLocalEnv: async () => {
		throw new Error('the demo runs in the in-memory sandbox');
	},
	defaultStore: store,
});

try {
	const agent = await context.init({ model: config.model, persist: store, thinkingLevel: 'off' });
	// Turn 2 uses sessions.get, which throws unless the session is found in the store.
	const session = config.turn === 1 ? await agent.sessions.create(config.sessionId) : await agent.sessions.get(config.sessionId);
	const { text } = await session.prompt(config.message);
	const report: TurnReport = { reply: text, sent: requests.last() };
	process.send?.(report);
} catch (error) {
	console.error(`turn ${config.turn}: ${error instanceof Error ? error.message : String(error)}`);
	if (!config.demoModelUrl) console.error(`(model ${config.model}: check the API key and the network.)`);
	process.exitCode = 1;
} finally {
	await store.close();
}
