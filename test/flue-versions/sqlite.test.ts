/**
 * Every Flue release with a session store, against sqliteStore on a file: two processes in a row
 * (the resume proven by what the fake model receives), then the in-process scenarios in both
 * layouts: restore, parallel tasks, overflow recovery (with and without a reused entry id, and
 * with nothing to compact).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { FluePersistStore, Layout } from '../../src/index.js';
import {
	overflowFirstTurnScenario,
	overflowScenario,
	type ProcessStoreUnderTest,
	processRestoreScenario,
	restoreScenario,
	taskScenario,
} from '../support/flue-harness.js';
import { loadRelease } from '../support/flue-releases.js';
import { RELEASES } from './releases.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-versions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

for (const spec of RELEASES) {
	const release = await loadRelease(spec);
	describe(`${release.label} with sqliteStore`, () => {
		/** Every test gets its own file; openStore gives a new instance on it each time. */
		const target = (layout: Layout): ProcessStoreUnderTest => {
			const file = join(dir, `flue-${release.version}-${layout}-${n++}.db`);
			return {
				openStore: () => sqliteStore(file, { layout }),
				closeStore: (store) => (store as FluePersistStore).close(),
				worker: { driver: 'sqlite', file, layout },
				expect,
				release,
			};
		};

		it('resumes a session in a second process', () => processRestoreScenario(target('log')));
		for (const layout of ['log', 'blob'] as Layout[]) {
			it(`restores a conversation in a fresh context and a fresh store (${layout})`, () => restoreScenario(target(layout)));
			it(`keeps task child sessions and deletes them with the parent (${layout})`, () => taskScenario(target(layout)));
			it(`accepts the overflow recovery sequence (${layout})`, () => overflowScenario(target(layout)));
			it(`accepts an entry id reused after the overflow removal (${layout})`, () => overflowScenario(target(layout), { reuseRemovedId: true }));
			it(`accepts overflow removal when there is nothing to compact (${layout})`, () => overflowFirstTurnScenario(target(layout)));
		}
	});
}
