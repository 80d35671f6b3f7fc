/**
 * One of several processes adding turns to the same session: load, append this writer's turn,
 * save. In optimistic mode a CONFLICT sends it back to load; the turn is reported as
 * `ack <writer> <turn> <digest of the snapshot saved>` only after save() resolved, and each
 * conflict as `conflict <writer> <turn>`.
 *
 * argv[2]: JSON { target, id, writer, turns, layout, concurrency, startAt }
 */
import { filler, messageEntry } from '../../../src/conformance/fixtures.js';
import { type ConcurrencyMode, isFluePersistError, type Layout, type SessionEntry } from '../../../src/index.js';
import { digest } from '../support/canonical.js';
import { connect, report, type Target } from './open-store.js';

const config = JSON.parse(process.argv[2]!) as {
	target: Target;
	id: string;
	writer: number;
	turns: number;
	layout: Layout;
	concurrency: ConcurrencyMode;
	table: string;
	startAt: number;
};
const db = connect(config.target);
const store = db.open(config.layout, config.table, config.concurrency);
const w = config.writer;

// Everyone starts at once, so the writers really overlap.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, config.startAt - Date.now())));
for (let turn = 1; turn <= config.turns; turn++) {
	for (;;) {
		const data = await store.load(config.id);
		if (!data) throw new Error(`session ${config.id} is missing`);
		let parent = data.leafId;
		const roles = ['user', 'assistant', 'toolResult', 'assistant'] as const;
		const added: SessionEntry[] = roles.map((role, i) => {
			const id = `w${w}-t${turn}-e${i}`;
			const entry = messageEntry(id, parent, role, i === 2 ? filler(400, w * 1000 + turn) : `writer ${w} turn ${turn} part ${i}`, turn * 4 + i);
			parent = id;
			return entry;
		});
		data.entries.push(...added);
		data.leafId = parent;
		data.metadata = { ...data.metadata, last: { writer: w, turn } };
		try {
			await store.save(config.id, data);
			report(`ack ${w} ${turn} ${digest(data)}`);
			break;
		} catch (error) {
			if (isFluePersistError(error) && error.code === 'CONFLICT') {
				report(`conflict ${w} ${turn}`);
				continue;
			}
			throw error;
		}
	}
}
await db.close();
report('done');
