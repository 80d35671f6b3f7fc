import type { FlueContext } from '@flue/sdk/client';
import { store } from '../persist/postgres.js';

export const triggers = { webhook: true };

/**
 * Answers `payload.message` in the conversation `payload.thread` (default "default"). The history
 * is in Postgres (DATABASE_URL), so every server behind a load balancer sees the same conversations.
 */
export default async function ({ init, payload, env }: FlueContext) {
	const agent = await init({ model: env.MODEL ?? 'anthropic/claude-sonnet-4-6', persist: store });
	const session = await agent.session(payload.thread ?? 'default');
	const { text } = await session.prompt(String(payload.message));
	return { reply: text };
}
