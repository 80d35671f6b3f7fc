/**
 * What every spec file of the conformance suite shares: the runner and target types, the filters,
 * and a `Spec` that registers cases and checks results. A failed check says in words what the store
 * must do ("… must throw a FluePersistError with code CONFLICT"), then what it did.
 */
import { type ErrorCode, isFluePersistError } from '../errors.js';
import type { ConcurrencyMode, FluePersistStore, SessionData, SessionStore, StoreCapabilities } from '../types.js';
import { copy } from './fixtures.js';

/** The part of a jest/vitest `expect` the suite uses. */
export type ExpectLike = (actual: unknown) => {
	toEqual(expected: unknown): void;
};

/** A test function as the suite registers it; it takes no parameter, so callback-style runners do not wait for `done`. */
export type CaseFunction = (...context: unknown[]) => Promise<void>;

/** The runner's `it`, with its `skip` when it has one (vitest, jest, mocha and node:test do). */
export interface ItLike {
	(name: string, fn: CaseFunction, timeoutMs?: number): void;
	skip?: (name: string, fn: CaseFunction) => void;
}

/** The test runner's functions; the suite imports no test framework itself. */
export interface ConformanceRunner {
	describe(name: string, fn: () => void): void;
	it: ItLike;
	expect: ExpectLike;
	/**
	 * Marks the running test as skipped, for runners whose skip is not on the test context. vitest
	 * and node:test need nothing here: the suite calls the `skip()` of the context they pass.
	 */
	skip?: (reason: string) => void;
}

export interface StoreOpenOptions {
	concurrency?: ConcurrencyMode;
}

/** A store under test: Flue's three calls, and the optional extensions when it has them. */
export type TestStore = SessionStore & Partial<Pick<FluePersistStore, 'saveDelta' | 'list' | 'close' | 'capabilities'>>;

export interface ConformanceTarget<S extends TestStore = TestStore> {
	name: string;
	/** A store over a fresh, empty, isolated database. */
	create(options?: StoreOpenOptions): Promise<S>;
	/** A second store instance over the same database as `store` (another process, in effect). Without it the `reopen` group is skipped. */
	reopen?(store: S, options?: StoreOpenOptions): Promise<S>;
	/** Releases a store made by `create` or `reopen`. Default: `store.close()` when present. */
	destroy?(store: S): Promise<void>;
	/**
	 * Overrides for what the store declares. `saveDelta: false` or `list: false` here skips those
	 * groups when the cases are registered; otherwise a store without the method is found out, and
	 * its cases skipped, when each case runs.
	 */
	capabilities?: Partial<StoreCapabilities>;
	/** Per-test timeout in milliseconds for the large-session cases. Default 120000. */
	largeTimeoutMs?: number;
}

/**
 * Which cases to run. A string names a group (`'basics'`, `'saveDelta'`, …, see `CONFORMANCE_GROUPS`)
 * or one case by its full name; a RegExp is tested against both. Cases left out are registered as
 * skipped, so the report shows them.
 */
export interface ConformanceFilter {
	/** Run only these groups or cases. */
	only?: Array<string | RegExp>;
	/** Skip these groups or cases. */
	skip?: Array<string | RegExp>;
}

/** A store method the base contract does not require. */
export type OptionalFeature = 'saveDelta' | 'list';

export interface CaseOptions {
	/** Per-test timeout in milliseconds. */
	timeout?: number;
	/** An optional method every step of the case uses: the case is skipped when the store lacks it. */
	needs?: OptionalFeature;
	/**
	 * `lineage`: the case needs a store that sees the caller's own objects and declares
	 * `capabilities.lineage: true`; it is skipped for any other store (one behind an RPC copy, or
	 * one that does not declare it).
	 */
	requires?: 'lineage';
}

/** Opens stores inside one case; all are released when the case ends. */
export type Open<S> = (options?: StoreOpenOptions) => Promise<S>;
export type Reopen<S> = (store: S, options?: StoreOpenOptions) => Promise<S>;

/** A failed requirement of the suite. The message starts with what the store must do. */
export class ConformanceError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'ConformanceError';
	}
}

/** One file of the suite: a group of cases named for what they require. */
export interface SpecGroup {
	/** The group's name: its `describe` title and what a filter names. */
	readonly name: string;
	/** What a store needs for the group to apply: a second instance (`target.reopen`). */
	readonly needs?: 'reopen';
	register<S extends TestStore>(spec: Spec<S>): void;
}

const describeError = (error: unknown): string => {
	if (error instanceof Error) return `${error.name}: ${error.message}`;
	try {
		return `a non-Error value ${JSON.stringify(error)}`;
	} catch {
		return `a non-Error value ${String(error)}`;
	}
};

/** The cases of one group, with the helpers its spec file uses. */
export class Spec<S extends TestStore> {
	constructor(
		readonly target: ConformanceTarget<S>,
		private readonly runner: ConformanceRunner,
		private readonly group: SpecGroup,
		private readonly filter: ConformanceFilter,
		/** Filter entries that matched a group or a case, so that a misspelt one can be reported. */
		private readonly matched: Set<string | RegExp> = new Set(),
	) {}

	/** Timeout for the cases that save sessions of 1 MB and more. */
	get largeTimeout(): number {
		return this.target.largeTimeoutMs ?? 120_000;
	}

	/** A Flue 0.4 storage key: `agent-session:["<agent>","<session>"]`. */
	key(session: string, agent = 'support-agent'): string {
		return `agent-session:${JSON.stringify([agent, session])}`;
	}

	/** A case that gets one fresh store. */
	test(name: string, fn: (store: S) => Promise<void>, options: CaseOptions = {}): void {
		this.testWith(name, async (open) => fn(await open()), options);
	}

	/** A case that opens its own stores: with options, or a second instance over the same database. */
	testWith(name: string, fn: (open: Open<S>, reopen: Reopen<S>) => Promise<void>, options: CaseOptions = {}): void {
		const { it } = this.runner;
		const skipped = this.skippedBecause(name, options);
		if (skipped !== null) {
			if (it.skip) it.skip(name, async () => {});
			// A runner without it.skip: a case the filter leaves out is not registered at all.
			else if (!skipped.byFilter) it(name, async (...context) => stopSkipped(() => this.skipRunning(context, skipped.reason)));
			return;
		}
		it(
			name,
			async (...context) =>
				stopSkipped(async () => {
					const opened: S[] = [];
					const track = (s: S) => {
						opened.push(s);
						return s;
					};
					try {
						await fn(
							async (o) => {
								const store = track(await this.target.create(o));
								if (options.needs && !this.has(store, options.needs)) this.skipRunning(context, `the store has no ${options.needs}() (optional)`);
								if (options.requires === 'lineage' && { ...store.capabilities, ...this.target.capabilities }.lineage !== true) {
									this.skipRunning(context, 'the store does not declare capabilities.lineage: true (it cannot tell a stale copy by its objects)');
								}
								return store;
							},
							async (s, o) => track(await this.target.reopen!(s, o)),
						);
					} finally {
						for (const s of opened.reverse()) await (this.target.destroy ? this.target.destroy(s) : s.close?.());
					}
				}),
			options.timeout,
		);
	}

	/** Why a case is skipped before it runs, or null. */
	private skippedBecause(name: string, options: CaseOptions): { reason: string; byFilter: boolean } | null {
		// search() ignores a RegExp's lastIndex, so a /g or /y filter matches every case alike.
		const matches = (f: string | RegExp) =>
			typeof f === 'string' ? f === name || f === this.group.name : name.search(f) >= 0 || this.group.name.search(f) >= 0;
		for (const f of [...(this.filter.only ?? []), ...(this.filter.skip ?? [])]) if (matches(f)) this.matched.add(f);
		if (this.filter.only && !this.filter.only.some(matches)) return { reason: 'not selected by `only`', byFilter: true };
		if (this.filter.skip?.some(matches)) return { reason: 'left out by `skip`', byFilter: true };
		if (this.group.needs === 'reopen' && !this.target.reopen) return { reason: 'the target has no reopen()', byFilter: false };
		if (options.needs && this.target.capabilities?.[options.needs] === false) return { reason: `the target declares no ${options.needs}`, byFilter: false };
		if (options.requires && this.target.capabilities?.[options.requires] === false)
			return { reason: `the target declares no ${options.requires}`, byFilter: false };
		return null;
	}

	/** Whether a store offers an optional method; a store that declares it and lacks it fails. */
	private has(store: S, feature: OptionalFeature): boolean {
		const declared = { ...store.capabilities, ...this.target.capabilities }[feature];
		const present = typeof store[feature] === 'function';
		if (declared === true && !present) {
			throw new ConformanceError(`a store whose capabilities declare ${feature}: true must have a ${feature}() method, but this one has none.`);
		}
		return declared !== false && present;
	}

	/**
	 * Marks the running case as skipped with the runner's own skip. A runner with no skip fails the
	 * case instead: an optional case must never be reported as passed when it did not run.
	 */
	private skipRunning(context: unknown[], reason: string): never {
		const ctx = context[0] as { skip?: (note?: string) => void } | undefined;
		if (typeof ctx?.skip === 'function') ctx.skip(reason);
		else if (this.runner.skip) this.runner.skip(reason);
		else {
			throw new ConformanceError(
				`skipped: ${reason}. This runner has no skip for a running test: pass runner.skip, or declare the capability as false in the target's capabilities so the case is skipped when it is registered.`,
			);
		}
		// vitest's and mocha's skip throw to stop the case; node:test's returns, so stop it here.
		throw new SkipSignal();
	}

	// Checks. Each names what the store must do; the runner's expect supplies the diff.

	/** Saves `data`, then `load` must return a deep-equal copy; `what` names the session in the message. */
	async roundTrip(store: S, id: string, data: SessionData, what = 'the session'): Promise<void> {
		const expected = copy(data);
		await store.save(id, data);
		this.equal(await store.load(id), expected, `load(${JSON.stringify(id)}) after save must return a deep-equal copy of ${what}`);
	}

	/** `actual` must deep-equal `expected`. */
	equal(actual: unknown, expected: unknown, must: string): void {
		try {
			this.runner.expect(actual).toEqual(expected);
		} catch (error) {
			throw explain(must, error);
		}
	}

	/** `actual` must be null. */
	isNull(actual: unknown, must: string): void {
		if (actual !== null) throw new ConformanceError(`${must}, but got ${preview(actual)}.`);
	}

	/** `condition` must hold; `got` describes what was found instead. */
	ok(condition: boolean, must: string, got?: () => string): void {
		if (!condition) throw new ConformanceError(got ? `${must}, but ${got()}.` : must);
	}

	/** `promise` must reject with a FluePersistError of `code`; `call` says which call, e.g. "a save from a stale snapshot". */
	async rejects(promise: Promise<unknown>, code: ErrorCode, call: string): Promise<Error & { code: string; sessionId?: string; backend?: string }> {
		const must = `${call} must throw a FluePersistError with code ${code}`;
		let caught: unknown;
		let threw = false;
		try {
			await promise;
		} catch (error) {
			threw = true;
			caught = error;
		}
		if (!threw) throw new ConformanceError(`${must}, but the call resolved without an error.`);
		if (!isFluePersistError(caught)) {
			throw new ConformanceError(
				`${must} (a subclass exported by flue-persist, so that isFluePersistError() is true), but it threw ${describeError(caught)}.`,
				{ cause: caught },
			);
		}
		const typed = caught as unknown as Error & { code: string };
		if (typed.code !== code) throw new ConformanceError(`${must}, but it threw one with code ${typed.code}: ${typed.message}`, { cause: caught });
		return typed;
	}
}

/** Stops a case whose runner marked it skipped without stopping it. */
class SkipSignal extends Error {}

/** Runs a case body; a case marked skipped ends there, without an error. */
async function stopSkipped(body: () => Promise<void> | void): Promise<void> {
	try {
		await body();
	} catch (error) {
		if (!(error instanceof SkipSignal)) throw error;
	}
}

/** The model message of an entry, typed loosely for the edits the cases make. */
export const messageOf = (entry: unknown) => (entry as { message: { content: unknown[] } }).message;

/** Puts the requirement in front of a runner's assertion error, keeping its diff and stack. */
function explain(must: string, error: unknown): Error {
	if (error instanceof Error) {
		error.message = `${must}\n${error.message}`;
		return error;
	}
	return new ConformanceError(`${must}\n${String(error)}`);
}

function preview(value: unknown): string {
	let text: string;
	try {
		text = JSON.stringify(value) ?? String(value);
	} catch {
		text = String(value);
	}
	return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
