import type { FlueContext } from '@flue/sdk/client';
import { sessionStore } from '../persist/d1.js';

export const triggers = { webhook: true };

/**
 * Answers `payload.message` in the conversation `payload.thread`. The conversations of every agent
 * id live in one D1 database (binding DB), where other Workers and exports can read them.
 */
export default async function ({ init, payload, env }: FlueContext) {
	const agent = await init({ model: env.MODEL ?? 'anthropic/claude-sonnet-4-6', persist: sessionStore(env.DB) });
	const session = await agent.session(payload.thread ?? 'default');
	const { text } = await session.prompt(String(payload.message));
	return { reply: text };
}
