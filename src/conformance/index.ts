/**
 * The conformance suite: the executable specification of a flue-persist store.
 *
 * It imports no test framework: pass your runner's `describe`, `it` and `expect` (vitest, jest,
 * node:test, or anything with the same shape). Each spec file in this folder is one group of cases,
 * named for the behaviour it requires; a failed case says what the store must do. The optional
 * groups (`saveDelta`, `list`) are reported as skipped for a store without those methods, and
 * `reopen` for a target without `reopen()`.
 *
 * @example
 * import { describe, it, expect } from 'vitest'
 * import { runConformance } from 'flue-persist/conformance'
 * runConformance({ name: 'my store', create: async () => myStore() }, { describe, it, expect })
 * // only some groups or cases:
 * runConformance(target, { describe, it, expect }, { only: ['basics', 'concurrency'] })
 */
import { badInput } from './bad-input.js';
import { basics } from './basics.js';
import { concurrency } from './concurrency.js';
import { deletion } from './delete.js';
import { fidelity } from './fidelity.js';
import { history } from './history.js';
import { ids } from './ids.js';
import { list } from './list.js';
import { reopen } from './reopen.js';
import { saveDelta } from './save-delta.js';
import { type ConformanceFilter, type ConformanceRunner, type ConformanceTarget, Spec, type SpecGroup, type TestStore } from './spec.js';
import { staleWriters } from './stale-writers.js';

export * from './fixtures.js';
export {
	type CaseFunction,
	ConformanceError,
	type ConformanceFilter,
	type ConformanceRunner,
	type ConformanceTarget,
	type ExpectLike,
	type ItLike,
	type StoreOpenOptions,
	type TestStore,
} from './spec.js';

/**
 * The groups, in the order they run. A group is one spec file exporting a `SpecGroup`; adding one
 * is that file and one line here.
 */
const GROUPS: readonly SpecGroup[] = [basics, fidelity, ids, deletion, history, concurrency, staleWriters, badInput, saveDelta, list, reopen];

/** The names of the groups, as `only` and `skip` take them. */
export const CONFORMANCE_GROUPS: readonly string[] = GROUPS.map((g) => g.name);

/**
 * Registers the suite with the runner: one `describe` per group inside one for the target.
 * `filter` narrows it to some groups or cases (see `ConformanceFilter`).
 */
export function runConformance<S extends TestStore>(target: ConformanceTarget<S>, runner: ConformanceRunner, filter: ConformanceFilter = {}): void {
	const named = [...(filter.only ?? []), ...(filter.skip ?? [])];
	const matched = new Set<string | RegExp>();
	// Runners collect nested suites in order, some only after the outer callback returns (vitest):
	// the filter is checked when the last group has registered its cases.
	const checkFilter = () => {
		// A misspelt name would otherwise skip everything, or nothing, without a word.
		const unknown = named.filter((f) => !matched.has(f));
		if (unknown.length > 0) {
			throw new TypeError(
				`runConformance: ${unknown.map(String).join(', ')} in only/skip names no group and no case. The groups are: ${CONFORMANCE_GROUPS.join(', ')}; a case is named by its full title.`,
			);
		}
	};
	runner.describe(`flue-persist conformance: ${target.name}`, () => {
		for (const [i, group] of GROUPS.entries()) {
			runner.describe(group.name, () => {
				group.register(new Spec(target, runner, group, filter, matched));
				if (i === GROUPS.length - 1) checkFilter();
			});
		}
	});
}
