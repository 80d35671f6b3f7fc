/**
 * Real @flue/sdk 0.4.1 agents against sqliteStore on a file: real better-sqlite3, real HTTP to a
 * local fake model. Each scenario opens several store instances on one file, as separate
 * processes would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { FluePersistStore, Layout } from '../../src/index.js';
import { overflowFirstTurnScenario, overflowScenario, restoreScenario, type StoreUnderTest, taskScenario } from '../support/flue-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-flue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// immutableEntries: true is what the README and the connectors tell Flue users to set.
for (const [layout, immutableEntries] of [
	['log', false],
	['log', true],
	['blob', false],
] as Array<[Layout, boolean]>) {
	describe(`Flue 0.4.1 with sqliteStore, layout ${layout}${immutableEntries ? ', immutableEntries: true' : ''}`, () => {
		/** Every test gets its own file; openStore gives a new instance on it each time. */
		const target = (): StoreUnderTest => {
			const file = join(dir, `flue-${layout}-${n++}.db`);
			return {
				openStore: () => sqliteStore(file, { layout, immutableEntries }),
				closeStore: (store) => (store as FluePersistStore).close(),
				expect,
			};
		};

		// Proves: what one Flue context wrote through one store instance is loaded by a fresh
		// context through a fresh instance, and sent to the model as the history of the next turn;
		// the stored session is the four messages in one parent chain with the leaf on the last.
		it('restores a conversation in a fresh context and a fresh store', () => restoreScenario(target()));

		// Proves: Flue's parallel task flow (two child sessions, two metadata-only parent saves
		// called back to back) completes without a store error; what lands for the parent never
		// goes back to an older snapshot (read by a second instance after each save); children are
		// stored under task:<parent>:<uuid> keys listed in metadata.taskSessions, load in a fresh
		// context, and sessions.delete removes children and parent.
		it('keeps task child sessions and deletes them with the parent', () => taskScenario(target()));

		// Proves: the optimistic history check accepts Flue's own overflow recovery (failed
		// message saved, then removed with the leaf moved back), with the exact save sequence
		// Flue makes (failed, removed, compacted, retried); the stored session has no failed
		// message, its leaf is the retried reply, and a fresh context resumes from it.
		it('accepts the overflow recovery sequence', () => overflowScenario(target()));

		// Proves: Flue may give a new entry the id of one it removed (here the compaction gets
		// the failed message's id, forced through crypto.randomUUID); the store stores the new
		// entry under that id and nothing of the old one survives.
		it('accepts an entry id reused after the overflow removal', () => overflowScenario(target(), { reuseRemovedId: true }));

		// Proves: the same removal on the first turn, where Flue finds nothing to compact and the
		// prompt fails: the store keeps the user message as the leaf and the session goes on.
		it('accepts overflow removal when there is nothing to compact', () => overflowFirstTurnScenario(target()));
	});
}
