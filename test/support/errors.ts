/** Helpers for asserting on the typed errors every store throws. */
import { type FluePersistError, isFluePersistError } from '../../src/index.js';

/** The FluePersistError a promise rejects with; anything else (or success) fails the test. */
export async function caught(promise: Promise<unknown>): Promise<FluePersistError> {
	try {
		await promise;
	} catch (error) {
		if (isFluePersistError(error)) return error;
		throw error;
	}
	throw new Error('expected the call to fail');
}

/** The FluePersistError a synchronous call throws. */
export function thrown(fn: () => unknown): FluePersistError {
	try {
		fn();
	} catch (error) {
		if (isFluePersistError(error)) return error;
		throw error;
	}
	throw new Error('expected the call to throw');
}
