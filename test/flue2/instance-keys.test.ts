/**
 * The submissions of one instance are found by the start of their session key (the runtime writes
 * `agent-session:` + JSON.stringify([agent, instanceId, harness, session])): LIKE's own characters
 * in a name match only themselves, and no other instance's key is kept.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { flue2InstanceKeyCondition, isFlue2InstanceKey } from '../../src/flue2/format.js';

const key = (agent: string, instanceId: string, session = 'default') => `agent-session:${JSON.stringify([agent, instanceId, 'default', session])}`;

describe('the session keys of one instance', () => {
	it('are all kept, and no key of another instance, whatever LIKE characters the names hold', () => {
		const names: Array<[string, string]> = [
			['a_b', 'x%y'],
			['axb', 'x%y'],
			['a_b', 'xzy'],
			['a_b', 'x%y!'],
			['A_B', 'X%Y'],
			['a!b', 'i'],
			['a"b', 'i\\j'],
			['a_b', 'x%y", "z'],
		];
		const db = new Database(':memory:');
		db.exec('CREATE TABLE s (session_key TEXT)');
		const insert = db.prepare('INSERT INTO s VALUES (?)');
		for (const [agent, instanceId] of names) for (const session of ['default', 'other']) insert.run(key(agent, instanceId, session));
		for (const [agent, instanceId] of names) {
			const { where, params } = flue2InstanceKeyCondition(agent, instanceId);
			const found = (db.prepare(`SELECT session_key FROM s WHERE ${where}`).all(...params) as Array<{ session_key: string }>)
				.map((r) => r.session_key)
				.filter((k) => isFlue2InstanceKey(k, agent, instanceId));
			expect(found, `${agent} / ${instanceId}`).toEqual([key(agent, instanceId), key(agent, instanceId, 'other')]);
		}
		db.close();
	});
});
