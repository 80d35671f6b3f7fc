import type { FlueContext } from '@flue/sdk/client';
import { getCloudflareContext } from '@flue/sdk/cloudflare';
import { sessionStore } from '../persist/durable-object.js';

export const triggers = { webhook: true };

/**
 * Answers `payload.message` in the conversation `payload.thread`. Each agent id is a Durable
 * Object; its conversations live in that object's SQLite, in the table Flue itself uses.
 */
export default async function ({ init, payload, env }: FlueContext) {
	const agent = await init({ model: env.MODEL ?? 'anthropic/claude-sonnet-4-6', persist: sessionStore(getCloudflareContext().storage) });
	const session = await agent.session(payload.thread ?? 'default');
	const { text } = await session.prompt(String(payload.message));
	return { reply: text };
}
