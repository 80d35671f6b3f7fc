/**
 * What the two Cloudflare backends (D1 and Durable Object SQLite) share: the platform's limits
 * and how to describe a binding that is not the one a store needs.
 */

import { ConfigError } from '../errors.js';

/**
 * Cloudflare's published limits are 100 bound parameters a query and 2,000,000 bytes for a string,
 * BLOB or row. A value stays 100,000 bytes below the row limit, which leaves room for the ids
 * (at most 1024 characters each) that share its row.
 */
export const CLOUDFLARE_LIMITS = Object.freeze({
	maxParams: 100,
	maxValueBytes: 1_900_000,
	/**
	 * The 100 KB statement limit counts SQL text only (the store's statements are under 1 KB of it).
	 * workerd accepts tens of megabytes of bound values in one statement, but Cloudflare publishes no
	 * figure for them, so a multi-row insert carries at most one row's worth (estimated at 3 bytes per
	 * UTF-16 unit); a single larger value travels alone.
	 */
	maxStatementBytes: 2_000_000,
	/** Largest session the store is built for: a load reads each table with one query, and D1 returns at most 50 MB a query. */
	maxSessionBytes: 32 * 1024 * 1024,
});

/** Validates a `chunkBytes` option: a value is split into parts above it, and never above the row limit's share. */
export function checkChunkBytes(value: unknown, backend: string): number {
	if (value === undefined) return CLOUDFLARE_LIMITS.maxValueBytes;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 1024 || value > CLOUDFLARE_LIMITS.maxValueBytes) {
		throw new ConfigError(`option chunkBytes must be a whole number of bytes from 1024 to ${CLOUDFLARE_LIMITS.maxValueBytes} (got ${String(value)}).`, {
			backend,
		});
	}
	return value;
}

/** Describes a value that is not what the store needs, for an error message. */
export function describeBinding(value: unknown): string {
	if (value === undefined) return 'undefined';
	if (value === null) return 'null';
	if (typeof value !== 'object' && typeof value !== 'function') return `${typeof value} ${JSON.stringify(value)?.slice(0, 40) ?? String(value)}`;
	const has = (name: string) => {
		try {
			return typeof (value as Record<string, unknown>)[name] === 'function';
		} catch {
			return false;
		}
	};
	if (has('prepare') && has('batch')) return 'a D1 database';
	if (has('idFromName')) return 'a Durable Object namespace';
	if (has('blockConcurrencyWhile')) return "the Durable Object's state (ctx) itself";
	if (has('transactionSync')) return "a Durable Object's storage";
	if (has('exec') && !has('prepare')) return "a Durable Object's SQL storage";
	if (has('get') && has('put') && has('list')) return 'a KV namespace or R2 bucket';
	if (has('fetch')) return 'a service binding';
	// Naming the keys shows the mistake of passing `env` itself: "an object with DB, AI".
	let keys: string[] = [];
	try {
		keys = Object.keys(value).slice(0, 5);
	} catch {
		// an exotic object (a proxy) that refuses to list its keys is described by its kind alone
	}
	return keys.length > 0 ? `an object with ${keys.join(', ')}` : `an empty ${typeof value === 'function' ? 'function' : 'object'}`;
}

/** Every message of an error and its causes, to find a driver's code in wrapped errors. */
export function errorText(error: unknown): string {
	let text = '';
	for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		text += ` ${String((e as { message?: unknown }).message ?? e)}`;
	}
	return text;
}
