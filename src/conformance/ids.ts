/** Ids: any non-empty string is a session id, compared exactly. */
import { conversation, emptySession } from './fixtures.js';
import type { SpecGroup } from './spec.js';

export const ids: SpecGroup = {
	name: 'ids',
	register(s) {
		s.test("Flue's keys (quotes, brackets, colons) and task keys round-trip", async (store) => {
			for (const id of [s.key('thread-1'), s.key('task:parent-1:0b7c1f42-9f1e-4c55-a7a5-1b2c3d4e5f60'), 'agent-session:["a\\"b","c]d"]']) {
				await s.roundTrip(store, id, conversation(1, { base: emptySession({ metadata: { id } }) }), `the session saved under the id ${JSON.stringify(id)}`);
			}
		});
		s.test('ids with newlines, tabs, spaces, wildcards, backslashes and emoji round-trip', async (store) => {
			for (const id of [
				'line1\nline2',
				'tab\there',
				' spaced ',
				'100%_done',
				"it's",
				'back\\slash',
				'🧵 thread',
				'Ω≈ç√',
				"x'); DELETE FROM flue_sessions; --",
			]) {
				await s.roundTrip(store, id, emptySession({ metadata: { id } }), `the session saved under the id ${JSON.stringify(id)}`);
			}
		});
		s.test('ids that differ only in case, quotes, brackets, a suffix or whitespace are separate sessions', async (store) => {
			const all = ['Thread', 'thread', 'THREAD', '"thread"', "'thread'", '[thread]', 'thread:', 'thread:child', 'thread ', 'thread\n'];
			for (const id of all) await store.save(id, emptySession({ metadata: { id } }));
			const idOf = async (id: string) => ((await store.load(id)) as { metadata?: { id?: unknown } } | null)?.metadata?.id;
			for (const id of all)
				s.equal(
					await idOf(id),
					id,
					`load(${JSON.stringify(id)}) must return the session saved under exactly that id (ids are compared exactly: case, quotes, brackets and whitespace count)`,
				);
			await store.delete('thread');
			s.isNull(await store.load('thread'), 'load("thread") after delete("thread") must return null');
			for (const id of all.filter((i) => i !== 'thread')) s.equal(await idOf(id), id, `delete("thread") must not delete the session ${JSON.stringify(id)}`);
		});
	},
};
