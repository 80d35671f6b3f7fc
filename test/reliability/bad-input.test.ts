/**
 * Bad input, property-based: arbitrary session shapes and ids through every store (memory,
 * SQLite and Postgres, each layout). Every save either round-trips (what loads is deep-equal to
 * what JSON keeps of the input) or rejects with a FluePersistError; a rejected save leaves the
 * session as it was, and no call disturbs another session.
 *
 * The arbitraries are shaped so that a failure is a bug, not a known limit:
 * - JSON turns -0 into 0 and drops object properties that are undefined, so the expected value
 *   is the input through JSON.stringify and JSON.parse;
 * - values JSON cannot keep (NaN, ±Infinity, BigInt, functions, symbols, Dates, Maps, Sets,
 *   class instances, cycles, undefined in an array) and malformed ids must be INVALID_INPUT everywhere;
 * - the memory store is the reference: it must accept every well-formed session;
 * - Postgres may refuse, as INVALID_INPUT, exactly what jsonb cannot hold: in the blob layout a
 *   string with \u0000 or a lone surrogate anywhere. (Ids and parent ids with NUL or a lone
 *   surrogate are refused by every store; the log layout keeps every other string as JSON text.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { type FluePersistStore, isFluePersistError, memoryStore, type SessionData } from '../../src/index.js';
import { dropSchema, makePool, uniqueSchema } from '../support/postgres.js';

const RUNS = 150;

// ------------------------------------------------------------------ arbitraries

const oddUnits = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '"', '\\', '\u2028', '\u2029', '\u007f', '\ufeff', '\uffff'];
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
/** Any code point, and now and then a lone surrogate, NUL or a character JSON escapes. */
const oddText = fc.string({ unit: fc.oneof({ weight: 6, arbitrary: anyCodePoint }, { weight: 1, arbitrary: fc.constantFrom(...oddUnits) }), maxLength: 16 });
/** Any code point but NUL: well-formed text every store must keep. */
const cleanText = fc.string({ unit: anyCodePoint.filter((c) => c !== '\u0000'), maxLength: 16 });
const number = fc.oneof(
	fc.integer(),
	fc.double({ noNaN: true, noDefaultInfinity: true }),
	fc.constantFrom(-0, 0, 5e-324, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, 0.1),
);

/** An own property even for "__proto__", as JSON.parse would make it. */
function objectOf(pairs: Array<[string, unknown]>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of pairs) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
	return out;
}

/** Sessions whose strings are drawn from `text`. */
function sessions(text: fc.Arbitrary<string>) {
	const key = fc.oneof(
		{ weight: 8, arbitrary: text },
		{ weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'entries', 'id', 'parentId', 'leafId', '') },
	);
	const { json } = fc.letrec<{ json: unknown }>((tie) => ({
		json: fc.oneof(
			{ depthSize: 'small', withCrossShrink: true },
			fc.constant(null),
			fc.boolean(),
			number,
			text,
			fc.array(tie('json'), { maxLength: 4 }),
			fc
				.array(fc.tuple(key, fc.oneof({ weight: 9, arbitrary: tie('json') }, { weight: 1, arbitrary: fc.constant(undefined) })), { maxLength: 4 })
				.map(objectOf),
		),
	}));
	/** Deep nesting, past what the other arbitraries reach. */
	const deep = fc.tuple(fc.integer({ min: 20, max: 200 }), json).map(([depth, leaf]) => {
		let value: unknown = leaf;
		for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
		return value;
	});
	const validId = text.filter((s) => s.length > 0 && !s.includes('\u0000') && s.isWellFormed());
	const entry = fc
		.record({
			type: fc.oneof(fc.constantFrom('message', 'compaction', 'branch_summary'), text),
			id: validId,
			// Empty is allowed; NUL and lone surrogates are refused like in ids (tested below).
			parentId: fc.oneof(
				fc.constant(null),
				text.filter((p) => !p.includes('\u0000') && p.isWellFormed()),
			),
			timestamp: text,
			extra: fc.array(
				fc.tuple(
					key.filter((k) => !['type', 'id', 'parentId', 'timestamp'].includes(k)),
					fc.oneof(json, deep),
				),
				{ maxLength: 3 },
			),
		})
		.map(({ extra, ...fields }) => ({ ...fields, ...objectOf(extra) }) as unknown as SessionData['entries'][number]);
	const session = fc
		.record({
			entries: fc.uniqueArray(entry, { selector: (e) => e.id, maxLength: 6 }),
			leafId: fc.oneof(fc.constant(null), text),
			metadata: fc.array(fc.tuple(key, json), { maxLength: 3 }).map(objectOf),
			version: number,
			createdAt: text,
			updatedAt: text,
			extra: fc.array(
				fc.tuple(
					key.filter((k) => !['entries', 'leafId', 'metadata', 'version', 'createdAt', 'updatedAt'].includes(k)),
					json,
				),
				{ maxLength: 2 },
			),
		})
		.map(({ extra, ...fields }) => ({ ...objectOf(extra), ...fields }) as unknown as SessionData);
	return { validId, session };
}

const odd = sessions(oddText);
const clean = sessions(cleanText);
/** A session with a well-formed shape and arbitrary content: half the time with odd characters in its strings. */
const session = fc.oneof(clean.session, odd.session);
const validId = fc.oneof(clean.validId, odd.validId);

/** Values that JSON cannot keep exactly; each must be refused wherever it sits. */
const poison = fc.constantFrom<[string, () => unknown]>(
	['NaN', () => Number.NaN],
	['Infinity', () => Number.POSITIVE_INFINITY],
	['-Infinity', () => Number.NEGATIVE_INFINITY],
	['BigInt', () => 12n],
	['function', () => () => 1],
	['symbol', () => Symbol('s')],
	['Date', () => new Date(0)],
	['Map', () => new Map([[1, 2]])],
	['Set', () => new Set([1])],
	['class instance', () => new (class Thing {})()],
	['undefined in an array', () => [1, undefined]],
	[
		'cycle',
		() => {
			const o: Record<string, unknown> = {};
			o.self = o;
			return o;
		},
	],
);

/** A malformed session id: every call with it must be INVALID_INPUT. */
const badId = fc.oneof(
	fc.constantFrom<unknown>('', '\u0000', 'a\u0000b', '\ud800', 'x\udfff', 'a'.repeat(1025), null, undefined, 42, {}, ['a']),
	oddText.filter((s) => s.includes('\u0000') || !s.isWellFormed()),
);

// ------------------------------------------------------------------ oracle

/** What JSON keeps of a value. */
const jsonOf = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Every string of a JSON value, keys included. */
function* strings(value: unknown): Generator<string> {
	if (typeof value === 'string') yield value;
	else if (Array.isArray(value)) for (const v of value) yield* strings(v);
	else if (typeof value === 'object' && value !== null) {
		for (const [k, v] of Object.entries(value)) {
			yield k;
			yield* strings(v);
		}
	}
}

interface Target {
	name: string;
	store: FluePersistStore;
	/** Why this store may refuse a well-formed session, or null when it must keep it. */
	mayRefuse(data: SessionData): string | null;
}

const never = () => null;
const jsonbRefuses = (data: SessionData) =>
	[...strings(jsonOf(data))].some((s) => s.includes('\u0000') || !s.isWellFormed()) ? 'jsonb holds no \\u0000 and no lone surrogate' : null;

const base = (): SessionData => conversation(2, { toolBytes: 40 });

// ------------------------------------------------------------------ the stores

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-props-'));
const pool = makePool(undefined, 4);
const schema = uniqueSchema('props');
const targets: Target[] = [
	{ name: 'memory', store: memoryStore(), mayRefuse: never },
	{ name: 'sqlite log', store: sqliteStore(join(dir, 'log.db'), { layout: 'log' }), mayRefuse: never },
	{ name: 'sqlite blob', store: sqliteStore(join(dir, 'blob.db'), { layout: 'blob' }), mayRefuse: never },
	{ name: 'postgres log', store: postgresStore(pool, { layout: 'log', schema }), mayRefuse: never },
	{ name: 'postgres blob', store: postgresStore(pool, { layout: 'blob', schema, table: 'blob_sessions' }), mayRefuse: jsonbRefuses },
];
const SENTINEL = 'sentinel:["keep","me"]';
const sentinel = conversation(3, { toolBytes: 64 });

beforeAll(async () => {
	for (const t of targets) await t.store.save(SENTINEL, sentinel);
});
afterAll(async () => {
	for (const t of targets) await t.store.close();
	await dropSchema(pool, schema);
	await pool.end();
	rmSync(dir, { recursive: true, force: true });
});

/** Runs `call`; a rejection must be a FluePersistError. Returns its code, or null when it resolved. */
async function outcome(call: () => Promise<unknown>): Promise<string | null> {
	try {
		await call();
		return null;
	} catch (error) {
		if (!isFluePersistError(error)) throw new Error(`not a FluePersistError: ${String(error)}`, { cause: error });
		return error.code;
	}
}

let counter = 0;
/** Per store: well-formed sessions kept and refused, so the log shows both paths ran. */
const tally = new Map<string, { kept: number; refused: number }>();
afterAll(() => {
	console.log(
		`bad input: ${RUNS} runs per property; well-formed sessions kept/refused: ${[...tally].map(([name, t]) => `${name} ${t.kept}/${t.refused}`).join(', ')}`,
	);
});

for (const target of targets) {
	describe(`${target.name}: arbitrary input`, () => {
		it('a well-formed session round-trips, or is refused (INVALID_INPUT) for a documented reason with the stored session unchanged', async () => {
			await fc.assert(
				fc.asyncProperty(validId, session, async (rawId, data) => {
					const id = `p${counter++}:${rawId}`;
					const before = base();
					await target.store.save(id, before);
					// Appended to what is stored, as Flue's snapshots are: entry ids made distinct from the base's.
					const next = { ...data, entries: [...before.entries, ...data.entries.map((e) => ({ ...e, id: `n:${e.id}` }))] } as SessionData;
					const code = await outcome(() => target.store.save(id, next));
					const loaded = await target.store.load(id);
					const counts = tally.get(target.name) ?? { kept: 0, refused: 0 };
					tally.set(target.name, counts);
					if (code === null) counts.kept++;
					else counts.refused++;
					if (code === null) {
						expect(loaded).toEqual(jsonOf(next));
					} else {
						const reason = target.mayRefuse(next);
						expect(reason, `${target.name} refused a well-formed session with ${code}`).not.toBeNull();
						expect(code).toBe('INVALID_INPUT');
						expect(loaded).toEqual(jsonOf(before));
					}
				}),
				{ numRuns: RUNS },
			);
			expect(await target.store.load(SENTINEL)).toEqual(jsonOf(sentinel));
		});

		it('a value JSON cannot keep is INVALID_INPUT wherever it sits, and nothing stored changes', async () => {
			await fc.assert(
				fc.asyncProperty(session, poison, fc.nat(), async (data, [, make], where) => {
					const id = `q${counter++}`;
					const before = base();
					await target.store.save(id, before);
					const next = { ...data, entries: [...before.entries] } as SessionData & Record<string, unknown>;
					const spot = where % 3;
					if (spot === 0) next.metadata = { ...next.metadata, bad: make() };
					else if (spot === 1) next.extraField = [make()];
					else
						next.entries.push({
							type: 'message',
							id: 'bad-entry',
							parentId: null,
							timestamp: 't',
							message: { content: make() },
						} as SessionData['entries'][number]);
					expect(await outcome(() => target.store.save(id, next))).toBe('INVALID_INPUT');
					expect(await target.store.load(id)).toEqual(jsonOf(before));
				}),
				{ numRuns: RUNS },
			);
			expect(await target.store.load(SENTINEL)).toEqual(jsonOf(sentinel));
		});

		it('a malformed session id, entry id or shape is INVALID_INPUT on every call', async () => {
			await fc.assert(
				fc.asyncProperty(badId, session, async (id, data) => {
					expect(await outcome(() => target.store.save(id as string, data))).toBe('INVALID_INPUT');
					expect(await outcome(() => target.store.load(id as string))).toBe('INVALID_INPUT');
					expect(await outcome(() => target.store.delete(id as string))).toBe('INVALID_INPUT');
				}),
				{ numRuns: RUNS },
			);
			await fc.assert(
				fc.asyncProperty(session, badId, fc.nat(), async (data, badEntryId, which) => {
					const id = `r${counter++}`;
					const before = base();
					await target.store.save(id, before);
					const shapes: Array<() => unknown> = [
						() => ({ ...data, entries: [...before.entries, { ...before.entries[0], id: badEntryId }] }),
						() => ({ ...data, entries: [...before.entries, { ...before.entries[1] }] }),
						() => ({ ...data, entries: [...before.entries, { ...before.entries[1], id: 'p', parentId: 7 }] }),
						() => ({
							...data,
							entries: [
								...before.entries,
								{
									...before.entries[1],
									id: 'p',
									parentId: typeof badEntryId === 'string' && badEntryId !== '' && badEntryId.length <= 1024 ? badEntryId : '\u0000',
								},
							],
						}),
						() => ({ ...data, entries: 'not an array' }),
						() => ({ ...data, entries: [...before.entries, 'not an object'] }),
						() => ({ ...data, leafId: 12 }),
						() => [data],
						() => null,
					];
					expect(await outcome(() => target.store.save(id, shapes[which % shapes.length]!() as SessionData))).toBe('INVALID_INPUT');
					expect(await target.store.load(id)).toEqual(jsonOf(before));
				}),
				{ numRuns: RUNS },
			);
			expect(await target.store.load(SENTINEL)).toEqual(jsonOf(sentinel));
		});
	});
}
