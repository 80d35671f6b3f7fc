import type { FlueContext } from '@flue/sdk/client';
import { store } from '../persist/sqlite.js';

export const triggers = { webhook: true };

/**
 * Answers `payload.message` in the conversation `payload.thread` (default "default"). The history
 * is in SQLite, so the next request, even to a restarted server, continues the same conversation.
 */
export default async function ({ init, payload, env }: FlueContext) {
	const agent = await init({ model: env.MODEL ?? 'anthropic/claude-sonnet-4-6', persist: store });
	const session = await agent.session(payload.thread ?? 'default');
	const { text } = await session.prompt(String(payload.message));
	return { reply: text };
}
