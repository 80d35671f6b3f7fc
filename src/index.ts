/**
 * flue-persist: durable session stores for Flue agents.
 *
 * @example
 * import { memoryStore } from 'flue-persist'
 * const agent = await init({ model, persist: memoryStore() })
 */
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
export {
	BackendError,
	ConfigError,
	ConflictError,
	CorruptError,
	FluePersistError,
	FormatVersionError,
	InvalidInputError,
	TooLargeError,
	isFluePersistError,
	type ErrorCode,
	type ErrorDetails,
} from './errors.js';
export { memoryStore, type MemoryStoreOptions } from './memory-store.js';
export { applyDelta, computeDelta } from './core/delta.js';
export { FORMAT_VERSION } from './core/chunks.js';
export { createStore, StaleRevisionError, type StorageAdapter, type WritePlan, type RawBlobSession, type RawLogSession, type EngineOptions } from './core/engine.js';
