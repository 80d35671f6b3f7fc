/** Fidelity: what is loaded is exactly what was saved, whatever the values and the size. */
import type { SessionData, SessionEntry } from '../types.js';
import { conversation, emptySession } from './fixtures.js';
import { messageOf, type SpecGroup } from './spec.js';

const MB = 1024 * 1024;

export const fidelity: SpecGroup = {
	name: 'fidelity',
	register(s) {
		s.test('Unicode, emoji, control characters and JSON-looking text round-trip', async (store) => {
			const data = conversation(1);
			const texts = [
				'héllo wörld — ünïcödé',
				'👩‍👩‍👧‍👦 🏳️‍🌈 😀',
				'日本語のテキスト',
				'tab\tnew\nline\r\n\u0001\u001f',
				'"quoted" \\backslash\\ \'single\'',
				'{"not":"parsed"}',
				"'); DROP TABLE flue_sessions; --",
				'\u2028\u2029',
				'',
			];
			data.metadata = { texts, nested: { 'key with spaces': texts, '': 'empty key', ключ: 'значение' } };
			messageOf(data.entries[0]).content = texts.map((text) => ({ type: 'text', text }));
			await s.roundTrip(store, s.key('unicode'), data, 'a session whose text holds Unicode, emoji, control characters, quotes and SQL');
		});
		s.test('sessions of later Flue versions (version 3 and 5, new fields, unknown entry types) round-trip unchanged', async (store) => {
			for (const version of [3, 5]) {
				const data = conversation(1) as SessionData & Record<string, unknown>;
				data.version = version;
				data.agentId = 'a-1';
				data.config = { tools: ['bash'], limits: { turns: 10 } };
				data.entries.push({
					type: 'future_kind',
					id: 'ffff0001',
					parentId: data.leafId,
					timestamp: '2026-05-01T00:00:00.000Z',
					payload: { deep: [1, { x: null }] },
				} as unknown as SessionEntry);
				data.leafId = 'ffff0001';
				await s.roundTrip(
					store,
					s.key(`v${version}`),
					data,
					`a version ${version} session with top-level fields and an entry type this release does not know (the store must treat them as opaque)`,
				);
			}
		});
		s.test('numbers, nulls, booleans and empty containers round-trip', async (store) => {
			const data = emptySession({
				metadata: { big: 2 ** 53 - 1, neg: -12.5, tiny: 1e-300, exp: 6.02e23, zero: 0, t: true, f: false, n: null, a: [], o: {}, s: '' },
			});
			await s.roundTrip(store, s.key('numbers'), data, 'metadata of numbers, booleans, null and empty containers');
		});
		s.test('deeply nested content (depth 400) round-trips', async (store) => {
			let deep: Record<string, unknown> = { leaf: 'bottom' };
			for (let i = 0; i < 400; i++) deep = { level: i, child: i % 2 ? [deep] : deep };
			const data = conversation(1);
			data.metadata.deep = deep;
			await s.roundTrip(store, s.key('deep'), data, 'a session with metadata nested 400 levels deep');
		});
		s.test(
			'a 1 MB session round-trips',
			async (store) => {
				const data = conversation(40, { toolBytes: 26_000 });
				s.ok(JSON.stringify(data).length > MB, 'the 1 MB fixture must be larger than 1 MB');
				await s.roundTrip(store, s.key('1mb'), data, 'a 1 MB session');
			},
			{ timeout: s.largeTimeout },
		);
		s.test(
			'a 10 MB session round-trips',
			async (store) => {
				const data = conversation(100, { toolBytes: 105_000 });
				s.ok(JSON.stringify(data).length > 10 * MB, 'the 10 MB fixture must be larger than 10 MB');
				await s.roundTrip(store, s.key('10mb'), data, 'a 10 MB session');
			},
			{ timeout: s.largeTimeout },
		);
	},
};
