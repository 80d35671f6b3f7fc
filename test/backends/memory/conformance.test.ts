import { describe, expect, it } from 'vitest';
import { runConformance } from '../../../src/conformance/index.js';
import { type FluePersistStore, memoryStore } from '../../../src/index.js';

runConformance<FluePersistStore>(
	{
		name: 'memoryStore',
		create: async (options) => memoryStore(options),
		reopen: async (store, options) => memoryStore({ ...options, share: store }),
	},
	{ describe, it, expect },
);

describe('memoryStore options', () => {
	it('rejects a share that is not a memory store with a CONFIG error', () => {
		expect(() => memoryStore({ share: {} as FluePersistStore })).toThrowError(expect.objectContaining({ code: 'CONFIG' }));
	});
	it('rejects an unknown concurrency mode with a CONFIG error naming the option', () => {
		expect(() => memoryStore({ concurrency: 'yolo' as never })).toThrowError(/concurrency/);
	});
});
