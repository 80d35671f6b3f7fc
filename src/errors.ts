/** Stable error codes. They are part of the public contract and never change meaning. */
export type ErrorCode = 'INVALID_INPUT' | 'CONFLICT' | 'CONFIG' | 'TOO_LARGE' | 'CORRUPT' | 'FORMAT_VERSION' | 'BACKEND';

const BRAND = Symbol.for('flue-persist.error');

export interface ErrorDetails {
	/** Backend name (`sqlite`, `postgres`, …). */
	backend?: string;
	/** The session the error is about, when there is one. */
	sessionId?: string;
	cause?: unknown;
}

/**
 * Base class of every error flue-persist throws.
 *
 * @example
 * try { await store.save(id, data) } catch (e) { if (isFluePersistError(e) && e.code === 'CONFLICT') reload() }
 */
export class FluePersistError extends Error {
	readonly code: ErrorCode;
	readonly backend: string | undefined;
	readonly sessionId: string | undefined;

	constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
		const where = details.backend ? `[flue-persist] [${details.backend}] ` : '[flue-persist] ';
		super(where + message, details.cause === undefined ? undefined : { cause: details.cause });
		this.name = 'FluePersistError';
		this.code = code;
		this.backend = details.backend;
		this.sessionId = details.sessionId;
		Object.defineProperty(this, BRAND, { value: true });
	}
}

/** The caller passed something a store cannot keep exactly (bad id, circular or non-JSON data …). */
export class InvalidInputError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('INVALID_INPUT', message, details);
		this.name = 'InvalidInputError';
	}
}

/** Another writer changed the session since this writer's snapshot was taken. Nothing was written. */
export class ConflictError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('CONFLICT', message, details);
		this.name = 'ConflictError';
	}
}

/** A store was created with options or a client it cannot use. */
export class ConfigError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('CONFIG', message, details);
		this.name = 'ConfigError';
	}
}

/** A value is larger than the backend can hold. */
export class TooLargeError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('TOO_LARGE', message, details);
		this.name = 'TooLargeError';
	}
}

/** Something stored cannot be read back as a session. */
export class CorruptError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('CORRUPT', message, details);
		this.name = 'CorruptError';
	}
}

/** The database was written by a newer (or unknown) format of flue-persist. */
export class FormatVersionError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('FORMAT_VERSION', message, details);
		this.name = 'FormatVersionError';
	}
}

/** The driver or the database failed; `cause` holds the driver's error. */
export class BackendError extends FluePersistError {
	constructor(message: string, details?: ErrorDetails) {
		super('BACKEND', message, details);
		this.name = 'BackendError';
	}
}

/**
 * An error's message without the `[flue-persist] ` prefix, and without the `[<backend>] ` tag that
 * follows it unless `keepBackend`: for a message that quotes another.
 */
export function unprefixedMessage(error: unknown, options: { keepBackend?: boolean } = {}): string {
	const message = error instanceof Error ? error.message : String(error);
	return message.replace(options.keepBackend ? /^\[flue-persist\] / : /^\[flue-persist\] (\[[a-z0-9-]+\] )?/, '');
}

/** True for errors thrown by any copy of flue-persist. */
export function isFluePersistError(value: unknown): value is FluePersistError {
	return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Quotes a session id for messages, short enough to read. */
export function quoteId(id: string): string {
	const shown = id.length > 120 ? `${id.slice(0, 117)}...` : id;
	return JSON.stringify(shown);
}
