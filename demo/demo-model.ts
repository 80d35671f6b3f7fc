/**
 * A stand-in model for running the demo without an API key: a local HTTP server that speaks the
 * OpenAI chat-completions streaming protocol. It does not think; it says what it is and repeats
 * what the conversation it was sent contains, so a resumed conversation is visible in its reply.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEMO_MODEL_TAG = '[demo model, no API key set]';

interface ChatMessage {
	role: string;
	content?: unknown;
}

const textOf = (content: unknown): string =>
	typeof content === 'string'
		? content
		: Array.isArray(content)
			? content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('')
			: '';

function replyTo(messages: ChatMessage[]): string {
	const said = messages.filter((m) => m.role === 'user').map((m) => `"${textOf(m.content)}"`);
	said.pop();
	if (said.length === 0) return `${DEMO_MODEL_TAG} Noted. Your message is the only one this request holds; I remember nothing else.`;
	return `${DEMO_MODEL_TAG} This request also holds what you told me before: ${said.join(', ')}`;
}

export async function startDemoModel(): Promise<{ baseUrl: string; close: () => Promise<void> }> {
	const server = http.createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (chunk: string) => (body += chunk));
		req.on('end', () => {
			let messages: ChatMessage[] = [];
			try {
				messages = (JSON.parse(body) as { messages?: ChatMessage[] }).messages ?? [];
			} catch {
				res.writeHead(400).end();
				return;
			}
			const base = { id: 'demo', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'demo-model' };
			const events = [
				{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: replyTo(messages) }, finish_reason: null }] },
				{ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
				{ ...base, choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } },
			];
			res.writeHead(200, { 'content-type': 'text/event-stream' });
			for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
			res.end('data: [DONE]\n\n');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		baseUrl: `http://127.0.0.1:${port}/v1`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
