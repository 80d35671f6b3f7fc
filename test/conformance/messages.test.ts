/**
 * What the conformance suite tells the author of a store: run against a hand-written Map store
 * (the 20 lines a newcomer writes first), every failure says in words what the store must do,
 * optional groups are reported as skipped rather than passed, stack traces name files of the
 * suite, and the only/skip filters select what runs. The suite is registered with a small
 * recording runner, and each case is run here, so the test can look at every outcome.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
	type CaseFunction,
	CONFORMANCE_GROUPS,
	type ConformanceFilter,
	type ConformanceRunner,
	type ConformanceTarget,
	runConformance,
	type TestStore,
} from '../../src/conformance/index.js';
import { memoryStore, type SessionData, type SessionStore } from '../../src/index.js';

/** The store from the issue: JSON in a Map, no checks, no conflicts, no saveDelta, no list. */
function mapStore(rows = new Map<string, string>()): SessionStore & { rows: Map<string, string> } {
	return {
		rows,
		async save(id, data) {
			rows.set(id, JSON.stringify(data));
		},
		async load(id) {
			const text = rows.get(id);
			return text === undefined ? null : (JSON.parse(text) as SessionData);
		},
		async delete(id) {
			rows.delete(id);
		},
	};
}

const mapTarget = (extra: Partial<ConformanceTarget<ReturnType<typeof mapStore>>> = {}): ConformanceTarget<ReturnType<typeof mapStore>> => ({
	name: 'a Map store',
	create: async () => mapStore(),
	reopen: async (store) => mapStore(store.rows),
	largeTimeoutMs: 60_000,
	...extra,
});

interface Outcome {
	/** Group and case name, `group > case`. */
	name: string;
	group: string;
	status: 'passed' | 'failed' | 'skipped';
	/** How it was skipped: when registered (`it.skip`) or while running (the context's `skip`). */
	skippedBy?: 'it.skip' | 'context';
	note?: string;
	error?: Error;
}

class ContextSkip extends Error {}

/**
 * Registers the suite with a runner that records each case, then runs them one by one. The test
 * context passed to each case has a `skip(note)` like vitest's, unless `contextSkip` is false.
 */
async function runSuite<S extends TestStore>(
	target: ConformanceTarget<S>,
	options: { itSkip?: boolean; contextSkip?: boolean; filter?: ConformanceFilter } = {},
): Promise<Outcome[]> {
	const { itSkip = true, contextSkip = true, filter } = options;
	const cases: Array<{ path: string[]; name: string; fn?: CaseFunction }> = [];
	const stack: string[] = [];
	const it = (name: string, fn: CaseFunction) => void cases.push({ path: [...stack], name, fn });
	const runner: ConformanceRunner = {
		describe(name, fn) {
			stack.push(name);
			try {
				fn();
			} finally {
				stack.pop();
			}
		},
		it: itSkip ? Object.assign(it, { skip: (name: string) => void cases.push({ path: [...stack], name }) }) : it,
		expect,
	};
	runConformance(target, runner, filter);
	const outcomes: Outcome[] = [];
	for (const c of cases) {
		const base = { name: `${c.path.at(-1)} > ${c.name}`, group: c.path.at(-1)! };
		if (!c.fn) {
			outcomes.push({ ...base, status: 'skipped', skippedBy: 'it.skip' });
			continue;
		}
		let note: string | undefined;
		const context = contextSkip
			? {
					skip: (reason?: string) => {
						note = reason;
						throw new ContextSkip();
					},
				}
			: {};
		try {
			await c.fn(context);
			outcomes.push({ ...base, status: 'passed' });
		} catch (error) {
			if (error instanceof ContextSkip) outcomes.push({ ...base, status: 'skipped', skippedBy: 'context', note });
			else outcomes.push({ ...base, status: 'failed', error: error as Error });
		}
	}
	return outcomes;
}

const byStatus = (outcomes: Outcome[], status: Outcome['status']) => outcomes.filter((o) => o.status === status);

describe('the conformance suite against a hand-written Map store', () => {
	let outcomes: Outcome[];
	it('runs every group', async () => {
		outcomes = await runSuite(mapTarget());
		expect([...new Set(outcomes.map((o) => o.group))]).toEqual([...CONFORMANCE_GROUPS]);
		expect(byStatus(outcomes, 'passed').length).toBeGreaterThan(20);
	}, 120_000);

	it('says in words what the store must do in every failure, never only "expected false to be true"', () => {
		const failed = byStatus(outcomes, 'failed');
		expect(failed.length).toBeGreaterThan(0);
		for (const f of failed) {
			expect(f.error!.message, f.name).toMatch(/ must /);
			expect(f.error!.message, f.name).not.toMatch(/^expected (false|true) to be (true|false)/);
		}
	});

	it('explains a missed CONFLICT: a save from a stale snapshot must throw a FluePersistError with code CONFLICT', () => {
		const stale = outcomes.find(
			(o) => o.name === 'concurrency > a save from a stale snapshot (a second session object saved first) fails with CONFLICT and changes nothing',
		)!;
		expect(stale.status).toBe('failed');
		expect(stale.error!.message).toBe(
			"a save from a stale snapshot (it drops entries another session object saved since this one's load) must throw a FluePersistError with code CONFLICT, but the call resolved without an error.",
		);
	});

	it('explains an error that is not a FluePersistError, naming what was thrown', () => {
		const values = outcomes.find((o) => o.name.startsWith('bad input > circular, BigInt'))!;
		expect(values.status).toBe('failed');
		expect(values.error!.message).toMatch(
			/^save of a session that contains itself \(a cycle\) must throw a FluePersistError with code INVALID_INPUT \(a subclass exported by flue-persist, so that isFluePersistError\(\) is true\), but it threw TypeError: /,
		);
	});

	it('reports saveDelta and list as skipped, not passed, when the store has neither', () => {
		const optional = outcomes.filter((o) => o.group === 'saveDelta' || o.group === 'list');
		// 5 saveDelta cases and 5 list cases (list, listAll, has).
		expect(optional).toHaveLength(10);
		for (const o of optional) {
			expect(o.status, o.name).toBe('skipped');
			expect(o.note).toMatch(/^the store has no (saveDelta|list)\(\) \(optional\)$/);
		}
	});

	it('points the stack of a failure at the spec file of the case, which exists', () => {
		for (const f of byStatus(outcomes, 'failed')) {
			const files = [...f.error!.stack!.matchAll(/\(?((?:file:\/\/)?\/[^\s()]+?\/src\/conformance\/[a-z-]+\.ts):\d+:\d+\)?/g)].map((m) =>
				m[1]!.replace(/^file:\/\//, ''),
			);
			expect(files.length, `${f.name}\n${f.error!.stack}`).toBeGreaterThan(0);
			for (const file of files) expect(existsSync(file), file).toBe(true);
		}
	});
});

describe('skipping the optional groups', () => {
	it('skips them when the cases are registered (it.skip) when the target declares the capability false', async () => {
		const outcomes = (await runSuite(mapTarget({ capabilities: { saveDelta: false, list: false } }))).filter(
			(o) => o.group === 'saveDelta' || o.group === 'list',
		);
		expect(outcomes).toHaveLength(10);
		expect(outcomes.every((o) => o.status === 'skipped' && o.skippedBy === 'it.skip')).toBe(true);
	});

	it('skips reopen when the target has no reopen()', async () => {
		const outcomes = (await runSuite(mapTarget({ reopen: undefined }))).filter((o) => o.group === 'reopen');
		expect(outcomes).toHaveLength(5);
		expect(outcomes.every((o) => o.status === 'skipped')).toBe(true);
	});

	it('fails an optional case, rather than passing it, on a runner that cannot skip a running test', async () => {
		// Without it.skip either: the cases the filter leaves out are not registered at all.
		const outcomes = await runSuite(mapTarget(), { itSkip: false, contextSkip: false, filter: { only: ['list'] } });
		expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
		expect(outcomes[0]!.error!.message).toMatch(/^skipped: the store has no list\(\) \(optional\)\. This runner has no skip for a running test/);
	});

	it('uses runner.skip when the runner passes no test context', async () => {
		const reasons: string[] = [];
		const cases: CaseFunction[] = [];
		runConformance(
			mapTarget(),
			{ describe: (_n, fn) => fn(), it: (_n, fn) => void cases.push(fn), expect, skip: (reason) => void reasons.push(reason) },
			{ only: ['saveDelta'] },
		);
		for (const fn of cases) await fn();
		expect(reasons).toEqual(Array(5).fill('the store has no saveDelta() (optional)'));
	});

	it('fails a store that declares saveDelta and has no saveDelta()', async () => {
		const outcomes = (
			await runSuite(
				{
					...mapTarget(),
					create: async () => Object.assign(mapStore(), { capabilities: { saveDelta: true, list: false, durable: false, maxSessionBytes: 1 } }),
				},
				{ filter: { only: ['saveDelta'] } },
			)
		).filter((o) => o.group === 'saveDelta');
		expect(outcomes).toHaveLength(5);
		expect(outcomes.every((o) => o.status === 'failed')).toBe(true);
		expect(outcomes[0]!.error!.message).toBe('a store whose capabilities declare saveDelta: true must have a saveDelta() method, but this one has none.');
	});
});

describe('filters', () => {
	const target: ConformanceTarget = { name: 'memoryStore', create: async () => memoryStore(), reopen: async (s) => memoryStore({ share: s as never }) };

	it('only runs the named groups and cases; the rest are reported as skipped', async () => {
		const outcomes = await runSuite(target, { filter: { only: ['basics', 'a deleted session leaves the list'] } });
		expect(byStatus(outcomes, 'passed').map((o) => o.name)).toEqual([
			'basics > load(id) returns null for an unknown id',
			'basics > save then load returns a deep-equal copy of a Flue session',
			'basics > an empty session (no entries, leafId null) round-trips',
			'basics > a second save replaces the header and the changed entries of the first',
			'basics > the store keeps copies: changing the saved or the loaded object changes nothing stored',
			'list > a deleted session leaves the list',
		]);
		expect(byStatus(outcomes, 'failed')).toEqual([]);
		expect(byStatus(outcomes, 'skipped').length).toBe(outcomes.length - 6);
	});

	it('skip leaves out groups, cases and RegExp matches', async () => {
		const outcomes = await runSuite(target, { filter: { only: ['basics', 'ids'], skip: ['ids', /unknown id/] } });
		expect(byStatus(outcomes, 'passed').map((o) => o.name)).toEqual([
			'basics > save then load returns a deep-equal copy of a Flue session',
			'basics > an empty session (no entries, leafId null) round-trips',
			'basics > a second save replaces the header and the changed entries of the first',
			'basics > the store keeps copies: changing the saved or the loaded object changes nothing stored',
		]);
	});

	it('a name that matches no group and no case is an error, not a silent empty run', async () => {
		await expect(runSuite(target, { filter: { only: ['basic'] } })).rejects.toThrowError(
			/basic in only\/skip names no group and no case\. The groups are: basics, fidelity, ids, delete, history, concurrency, stale writers, bad input, saveDelta, list, reopen/,
		);
	});
});

describe('a failed deep-equal check', () => {
	it("starts with the requirement and keeps the runner's diff", async () => {
		// Loses every field but the entries: the classic "forgot to store the header" bug.
		const lossy = (): SessionStore => {
			const rows = new Map<string, string>();
			return {
				save: async (id, data) => void rows.set(id, JSON.stringify({ ...data, metadata: {} })),
				load: async (id) => (rows.has(id) ? JSON.parse(rows.get(id)!) : null),
				delete: async (id) => void rows.delete(id),
			};
		};
		const [outcome] = await runSuite(
			{ name: 'lossy', create: async () => lossy() },
			{ filter: { only: ['fidelity > numbers, nulls, booleans and empty containers round-trip'.split(' > ')[1]!] } },
		).then((o) => o.filter((x) => x.status !== 'skipped'));
		expect(outcome!.status).toBe('failed');
		const error = outcome!.error as Error & { actual?: unknown; expected?: unknown };
		expect(error.message.split('\n')[0]).toBe(
			'load("agent-session:[\\"support-agent\\",\\"numbers\\"]") after save must return a deep-equal copy of metadata of numbers, booleans, null and empty containers',
		);
		expect(error.message).toMatch(/expected .* to deeply equal/);
		expect(error.expected).toBeDefined();
		expect(error.actual).toBeDefined();
	});
});
