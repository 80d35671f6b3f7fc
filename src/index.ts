/**
 * flue-persist: durable session stores for Flue agents.
 *
 * @example
 * import { memoryStore } from 'flue-persist'
 * const agent = await init({ model, persist: memoryStore() })
 */

export { applyDelta, computeDelta } from './core/delta.js';
export {
	createStore,
	type EngineOptions,
	type RawBlobSession,
	type RawLogSession,
	StaleRevisionError,
	type StorageAdapter,
	type WritePlan,
} from './core/engine.js';
export { FORMAT_VERSION } from './core/format.js';
export {
	BackendError,
	ConfigError,
	ConflictError,
	CorruptError,
	type ErrorCode,
	type ErrorDetails,
	FluePersistError,
	FormatVersionError,
	InvalidInputError,
	isFluePersistError,
	TooLargeError,
} from './errors.js';
export { type MemoryStoreOptions, memoryStore } from './memory-store.js';
export type {
	BranchSummaryEntry,
	CompactionEntry,
	ConcurrencyMode,
	FluePersistStore,
	Layout,
	ListOptions,
	ListPage,
	MessageEntry,
	SessionData,
	SessionDelta,
	SessionEntry,
	SessionEntryBase,
	SessionListItem,
	SessionStore,
	StoreCapabilities,
	StoreOptions,
} from './types.js';
