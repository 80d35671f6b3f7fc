/**
 * Saves a few sessions in a loop, as fast as it can, until it is killed. Each save is reported
 * as `ack <session> <turn>` only after `save()` resolved. Restarted after a kill, it continues
 * from what the store holds.
 *
 * argv[2]: JSON { target, sessions: [{ s, id, layout }] }
 */
import type { Layout, SessionData } from '../../../src/index.js';
import { advance, snapshotAt, turnOf } from '../support/snapshots.js';
import { connect, report, type Target } from './open-store.js';

const config = JSON.parse(process.argv[2]!) as { target: Target; sessions: Array<{ s: number; id: string; layout: Layout }> };
const db = connect(config.target);
const stores = { log: db.open('log', 'crash_log'), blob: db.open('blob', 'crash_blob') };
const live: Array<{ s: number; id: string; layout: Layout; data: SessionData; turn: number }> = [];
for (const { s, id, layout } of config.sessions) {
	const data = (await stores[layout].load(id)) ?? snapshotAt(s, 0);
	live.push({ s, id, layout, data, turn: turnOf(data) });
}
report('ready');
for (;;) {
	for (const session of live) {
		session.turn += 1;
		advance(session.data, session.s, session.turn);
		await stores[session.layout].save(session.id, session.data);
		report(`ack ${session.s} ${session.turn}`);
	}
}
