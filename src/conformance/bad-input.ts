/** Bad input: a typed INVALID_INPUT error, and nothing stored changes. */
import type { ErrorCode } from '../errors.js';
import type { SessionData } from '../types.js';
import { conversation, copy, emptySession } from './fixtures.js';
import type { Spec, SpecGroup, TestStore } from './spec.js';

const describeValue = (value: unknown): string => {
	if (typeof value === 'string') return `the id ${JSON.stringify(value)}`;
	if (typeof value === 'bigint') return 'a BigInt';
	if (typeof value === 'function') return 'a function';
	if (typeof value === 'symbol') return 'a Symbol';
	if (typeof value === 'number') return String(value);
	if (value instanceof Date) return 'a Date';
	if (value instanceof Map) return 'a Map';
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
};

export const badInput: SpecGroup = {
	name: 'bad input',
	register<S extends TestStore>(s: Spec<S>) {
		const existing = s.key('existing');
		/** `call` must fail with `code`, and the session stored before it must load unchanged. */
		async function refusedAndUnchanged(store: S, fn: () => Promise<unknown>, call: string, code: ErrorCode = 'INVALID_INPUT'): Promise<void> {
			const before = conversation(2);
			await store.save(existing, before);
			await s.rejects(fn(), code, call);
			s.equal(await store.load(existing), before, `after ${call} was refused, the session stored before must load unchanged`);
		}
		s.test('a non-string, empty or malformed id is rejected by save, load and delete', async (store) => {
			for (const bad of [undefined, null, 42, {}, '', 'half \ud800 surrogate', 'nul\u0000byte']) {
				const what =
					bad === ''
						? 'the empty id'
						: bad === 'half \ud800 surrogate'
							? 'an id with a lone surrogate'
							: bad === 'nul\u0000byte'
								? 'an id with a NUL character'
								: `the id ${describeValue(bad)}`;
				await refusedAndUnchanged(store, () => store.save(bad as string, conversation(1)), `save with ${what}`);
				await s.rejects(store.load(bad as string), 'INVALID_INPUT', `load with ${what}`);
				await refusedAndUnchanged(store, () => store.delete(bad as string), `delete with ${what}`);
			}
		});
		s.test('data that is not a session is rejected and nothing is created', async (store) => {
			const cases: Array<[unknown, string]> = [
				[null, 'null'],
				[[], 'an array'],
				['text', 'a string'],
				[{}, 'an object without entries'],
				[{ entries: 'no' }, 'entries that is not an array'],
				[{ ...emptySession(), entries: [null] }, 'an entry that is null'],
				[{ ...emptySession(), entries: [{ type: 'message' }] }, 'an entry without an id'],
			];
			for (const [bad, what] of cases) {
				await refusedAndUnchanged(store, () => store.save(s.key('bad'), bad as SessionData), `save of data that is ${what}`);
				s.isNull(await store.load(s.key('bad')), `after save of data that is ${what} was refused, nothing must be stored under its id: load must return null`);
			}
		});
		s.test('circular, BigInt, function, NaN, Infinity, Date, Map and Symbol values are rejected and the stored session is unchanged', async (store) => {
			const circular = conversation(1);
			circular.metadata.self = circular;
			await refusedAndUnchanged(store, () => store.save(existing, circular), 'save of a session that contains itself (a cycle)');
			for (const value of [10n, () => 1, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), new Map([[1, 2]]), Symbol('s')]) {
				const data = conversation(3);
				data.metadata.bad = value;
				// JSON would silently turn these into null, {} or a string, or drop them: the stored session would differ from what Flue holds.
				await refusedAndUnchanged(store, () => store.save(existing, data), `save of a session holding ${describeValue(value)}, which JSON cannot keep,`);
			}
		});
		s.test('duplicate entry ids and non-string or malformed parent ids are rejected', async (store) => {
			const dup = conversation(2);
			dup.entries.push(copy(dup.entries[0]!));
			await refusedAndUnchanged(store, () => store.save(existing, dup), 'save of a session in which two entries have the same id');
			const badParent = conversation(2);
			(badParent.entries[1] as { parentId: unknown }).parentId = 7;
			await refusedAndUnchanged(store, () => store.save(existing, badParent), 'save of a session with a number as parentId');
			const halfPair = conversation(2);
			halfPair.entries[1]!.parentId = 'ab\ud800';
			await refusedAndUnchanged(store, () => store.save(existing, halfPair), 'save of a session with a parentId holding a lone surrogate');
		});
		s.test('errors carry a stable code, the backend and the session id, and name the session', async (store) => {
			const data = conversation(1);
			data.metadata.bad = 1n;
			const err = await s.rejects(store.save(existing, data), 'INVALID_INPUT', 'save of a session holding a BigInt');
			s.equal(err.sessionId, existing, "the error's sessionId must be the id of the session the call was for");
			s.ok(typeof err.backend === 'string', "the error's backend must be the store's name, a string", () => `it is ${typeof err.backend}`);
			s.ok(
				err.message.includes(JSON.stringify(existing)),
				'the error message must name the session id (in JSON quotes)',
				() => `the message was ${JSON.stringify(err.message)}`,
			);
			s.ok(
				err.message.startsWith('[flue-persist]'),
				'the error message must start with [flue-persist] (the FluePersistError constructor adds it)',
				() => `the message was ${JSON.stringify(err.message)}`,
			);
		});
	},
};
