// Writes a Flue 2 database with the real @flue/runtime, talking to a local fake model.
//
//   node generate.mjs --phase 0|1|2|3 --out <dir> (--sqlite <file> | --mysql <url>) [--count <n>]
//
// Phase 0 only starts and stops the app, so that its adapter creates and stamps its tables in an
// empty database (a target for copy and import).
// Phase 1: instance "alpha" (a greeting, then a tool call whose result is over 1 MiB, so the
// batch is stored in parts), instance "beta" (a child task through the built-in `task` tool, a
// picture over 512 KiB, a signal) and instance "gamma" of a second agent that compacts its
// conversation (the fake model reports its real prompt size to it, and writes the summaries).
// Phase 2 runs in a new process and continues "alpha" by its stored uid: a restart.
// Phase 3 adds <count> small instances "many-000", "many-001", … of the first agent, one turn
// each: enough instances for a write command to be killed in the middle of its work.
// Every request the fake model received and what it answered is appended to <out>/model-log.json;
// the runtime's public snapshot of each instance goes to <out>/snapshot-<id>.json.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProvider } from '@earendil-works/pi-ai';
import { openAICompletionsApi } from '@earendil-works/pi-ai/api/openai-completions.lazy';
import { defineTool, GeneralSubagent, getAgentInstance, init, useModel, useSubagent, useTool } from '@flue/runtime';
import { sqlite, start } from '@flue/runtime/node';
import { createAgentRouter } from '@flue/runtime/routing';
import * as v from 'valibot';

const { values } = parseArgs({
	options: { phase: { type: 'string' }, out: { type: 'string' }, sqlite: { type: 'string' }, mysql: { type: 'string' }, count: { type: 'string' } },
});
const phase = Number(values.phase);
const out = values.out;
if (!out || ![0, 1, 2, 3].includes(phase) || !values.sqlite === !values.mysql) {
	console.error('usage: node generate.mjs --phase 0|1|2|3 --out <dir> (--sqlite <file> | --mysql <url>) [--count <n>]');
	process.exit(2);
}

/** The size of the tool result: over 1,048,576 UTF-16 units, so its batch is split. */
export const LARGE = 1_300_000;

// ---- the fake model ------------------------------------------------------------------------

const log = [];
function lastOf(messages, role) {
	for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === role) return messages[i];
	return undefined;
}
function textOf(message) {
	if (!message) return '';
	if (typeof message.content === 'string') return message.content;
	return (message.content ?? [])
		.filter((p) => p.type === 'text')
		.map((p) => p.text)
		.join('');
}

/** What the model answers, from the request alone: text, or one tool call. */
function answer(body) {
	const messages = body.messages ?? [];
	const last = messages[messages.length - 1];
	if (last?.role === 'tool') {
		const content = textOf(last);
		if (content.includes('padding')) return { text: `Order 42 has shipped; the record is ${content.length} characters long.` };
		return { text: `The helper reported: ${content.slice(0, 200)}` };
	}
	const user = textOf(lastOf(messages, 'user'));
	const system = textOf(messages.find((m) => m.role === 'system'));
	if (/summar/i.test(system) || /summar/i.test(user.slice(0, 400))) return { text: 'SUMMARY: the customer asked about three long topics.' };
	if (user.includes('order 42')) return { tool: { name: 'lookup_order', arguments: { orderId: '42' } } };
	if (user.includes('Delegate'))
		return { tool: { name: 'task', arguments: { agent: 'flue-general', prompt: 'Count the letters in "persist" and answer with the number.' } } };
	if (user.includes('letters in "persist"')) return { text: 'There are 7 letters.' };
	if (user.includes('picture of the parcel'))
		return { text: `I see the picture${JSON.stringify(lastOf(messages, 'user').content).includes('image') ? '' : ' (no image arrived)'}.` };
	if (user.includes('Ticket 7')) return { text: 'Noted: ticket 7 is closed.' };
	if (user.includes('still there')) return { text: `Yes, I remember ${messages.filter((m) => m.role === 'user').length - 1} earlier messages.` };
	return { text: `Hello! You said: ${user}` };
}

function sse(res, chunk) {
	res.write(`data: ${JSON.stringify(chunk)}\n\n`);
}

const server = createServer((req, res) => {
	let raw = '';
	req.setEncoding('utf8');
	req.on('data', (d) => (raw += d));
	req.on('end', () => {
		const body = JSON.parse(raw || '{}');
		const reply = answer(body);
		log.push({ phase, request: { model: body.model, messages: body.messages, tools: (body.tools ?? []).map((t) => t.function?.name) }, reply });
		res.writeHead(200, { 'content-type': 'text/event-stream' });
		const base = { id: `chatcmpl-${log.length}`, object: 'chat.completion.chunk', created: 1_800_000_000, model: body.model };
		const choice = (delta, finish = null) => sse(res, { ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
		if (reply.text !== undefined) {
			choice({ role: 'assistant', content: '' });
			// Several deltas per answer, as a real model streams them.
			for (const piece of reply.text.match(/.{1,7}/gs) ?? []) choice({ content: piece });
			choice({}, 'stop');
		} else {
			const args = JSON.stringify(reply.tool.arguments);
			choice({
				role: 'assistant',
				content: null,
				tool_calls: [{ index: 0, id: `call_${log.length}`, type: 'function', function: { name: reply.tool.name, arguments: '' } }],
			});
			choice({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 5) } }] });
			choice({ tool_calls: [{ index: 0, function: { arguments: args.slice(5) } }] });
			choice({}, 'tool_calls');
		}
		// The compacting agent is told its prompt's real size (about 4 characters a token), so that it compacts.
		const prompt = JSON.stringify(body.messages ?? []).includes('compacting agent') ? Math.ceil(raw.length / 4) : 11;
		sse(res, { ...base, choices: [], usage: { prompt_tokens: prompt, completion_tokens: 5, total_tokens: prompt + 5 } });
		res.write('data: [DONE]\n\n');
		res.end();
	});
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;

const provider = createProvider({
	id: 'fake',
	auth: { apiKey: { name: 'FAKE_API_KEY', resolve: async () => ({ auth: { apiKey: 'sk-local' } }) } },
	models: [
		{
			id: 'fake-model',
			name: 'fake model',
			api: 'openai-completions',
			provider: 'fake',
			baseUrl: `http://127.0.0.1:${port}/v1`,
			input: ['text', 'image'],
			contextWindow: 200_000,
			maxTokens: 4096,
			cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
			reasoning: false,
		},
	],
	api: openAICompletionsApi(),
});

// ---- the app -------------------------------------------------------------------------------

const lookupOrder = defineTool({
	name: 'lookup_order',
	description: 'Look up one order by id.',
	input: v.object({ orderId: v.string() }),
	async run() {
		return { output: { status: 'shipped', padding: 'x'.repeat(LARGE) } };
	},
});

function FixtureAgent() {
	useModel('fake/fake-model');
	useTool(lookupOrder);
	useSubagent(GeneralSubagent);
	return 'You are the fixture agent of the flue-persist tests.';
}
FixtureAgent.agentName = 'fixture-agent';

/** An agent that compacts its conversation early: the fake model reports its real prompt size to it. */
function CompactingAgent() {
	useModel('fake/fake-model', { compaction: { reserveTokens: 199_000, keepRecentTokens: 300 } });
	return 'You are the compacting agent of the flue-persist tests.';
}
CompactingAgent.agentName = 'compacting-agent';

/** A deterministic PNG-looking picture of 700,000 bytes. */
export function picture() {
	const bytes = Buffer.alloc(700_000);
	Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
	for (let i = 8; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
	return bytes;
}

// ---- the database --------------------------------------------------------------------------

async function mysqlAdapter(url) {
	const { mysql } = await import('@flue/mysql');
	const mysql2 = (await import('mysql2/promise')).default;
	const pool = mysql2.createPool({ uri: url, connectionLimit: 4 });
	// MariaDB reports integer display widths (int(11), bigint(20)) that MySQL 8 dropped, and the
	// adapter compares column types exactly: strip them from its information_schema check.
	const fix = (text, rows) =>
		text.includes('information_schema.COLUMNS')
			? rows.map((r) => ({ ...r, column_type: String(r.column_type).replace(/^(tinyint|smallint|mediumint|int|bigint)\(\d+\)/i, '$1') }))
			: rows;
	const toRows = (result) => (Array.isArray(result) ? result.map((row) => ({ ...row })) : []);
	return mysql({
		query: async (text, params = []) => fix(text, toRows((await pool.query(text, params))[0])),
		transaction: async (fn) => {
			const connection = await pool.getConnection();
			try {
				await connection.beginTransaction();
				const result = await fn({ query: async (text, params = []) => fix(text, toRows((await connection.query(text, params))[0])) });
				await connection.commit();
				return result;
			} catch (error) {
				await connection.rollback();
				throw error;
			} finally {
				connection.release();
			}
		},
		close: () => pool.end(),
	});
}

const db = values.sqlite ? sqlite(values.sqlite) : await mysqlAdapter(values.mysql);
const flue = await start({ agents: [FixtureAgent, CompactingAgent], db, providers: [provider], env: {} });

async function turn(handle, message) {
	const receipt = await handle.dispatch(message);
	return handle.read(receipt);
}

const idsFile = join(out, 'instances.json');
try {
	if (phase === 1) {
		const alpha = init(FixtureAgent, { id: 'alpha' });
		await turn(alpha, 'Hello, this is the first turn.');
		await turn(alpha, 'Please look up order 42.');
		const beta = init(FixtureAgent, { id: 'beta' });
		await turn(beta, 'Delegate a small job to the helper.');
		// An image over 512 KiB: stored as an attachment in parts (SQLite) or inline (MySQL).
		await turn(beta, {
			message: {
				kind: 'user',
				body: 'Here is a picture of the parcel.',
				attachments: [{ type: 'image', mimeType: 'image/png', data: picture().toString('base64'), filename: 'parcel.png' }],
			},
		});
		await turn(beta, { message: { kind: 'signal', type: 'ticket.updated', body: 'Ticket 7 was closed by the customer.', attributes: { ticket: '7' } } });
		const gamma = init(CompactingAgent, { id: 'gamma' });
		for (const topic of ['shipping', 'billing', 'returns', 'warranty', 'delivery', 'refunds', 'exchanges'])
			await turn(gamma, `Tell me about ${topic}. ${`Some detail about ${topic}. `.repeat(60)}`);
		const ids = {};
		for (const id of ['alpha', 'beta']) ids[id] = await getAgentInstance(FixtureAgent, id);
		ids.gamma = await getAgentInstance(CompactingAgent, 'gamma');
		writeFileSync(idsFile, JSON.stringify(ids, null, 2));
	} else if (phase === 2) {
		const known = JSON.parse(readFileSync(idsFile, 'utf8'));
		const found = await getAgentInstance(FixtureAgent, 'alpha');
		if (!found || found.uid !== known.alpha.uid) throw new Error(`instance alpha was not found again after the restart: ${JSON.stringify(found)}`);
		const alpha = init(FixtureAgent, { id: found.id, uid: found.uid });
		await turn(alpha, 'Are you still there?');
	} else if (phase === 3) {
		const count = Number(values.count ?? '30');
		for (let i = 0; i < count; i++) await turn(init(FixtureAgent, { id: `many-${String(i).padStart(3, '0')}` }), `Hello, this is instance ${i}.`);
	}
	for (const [agent, id] of phase === 0 || phase === 3
		? []
		: [
				[FixtureAgent, 'alpha'],
				[FixtureAgent, 'beta'],
				[CompactingAgent, 'gamma'],
			]) {
		const response = await createAgentRouter(agent).fetch(new Request(`http://x/${id}`));
		writeFileSync(join(out, `snapshot-${id}.json`), await response.text());
	}
} finally {
	await flue.stop();
	server.close();
	const logFile = join(out, 'model-log.json');
	const previous = existsSync(logFile) ? JSON.parse(readFileSync(logFile, 'utf8')) : [];
	writeFileSync(logFile, JSON.stringify([...previous, ...log]));
}
appendFileSync(join(out, 'phases.txt'), `${phase}\n`);
