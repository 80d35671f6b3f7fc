/**
 * Turns what pg and postgres.js throw into typed errors whose message says what to do. Both
 * drivers put the SQLSTATE (or the Node socket error code) in `error.code`.
 */
import { BackendError, ConfigError, type FluePersistError, isFluePersistError, quoteId, TooLargeError } from '../../errors.js';

const BACKEND = 'postgres';

/** The server cannot be reached at all: nothing was sent. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECT_TIMEOUT']);

/** The connection went away during the call: a write may or may not have committed. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P05']);

const LOST_MESSAGES = [/connection terminated/i, /not queryable/i, /connection (is )?closed/i, /server closed the connection/i, /write after end/i];

function codeOf(error: unknown): string {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : '';
}

/** A short account of a driver error; AggregateError (Node's happy-eyeballs connect) has an empty message. */
export function describeDriverError(error: unknown): string {
	if (!(error instanceof Error)) return String(error);
	const inner = (error as { errors?: unknown }).errors;
	if (!error.message && Array.isArray(inner) && inner[0] instanceof Error) return describeDriverError(inner[0]);
	const code = codeOf(error);
	const message = error.message || code || error.name;
	return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Typed error for a driver error, or undefined to leave it to the generic BACKEND message. */
export function classifyPostgresError(error: unknown, sessionId: string | undefined): FluePersistError | undefined {
	if (isFluePersistError(error)) return error;
	const code = codeOf(error);
	const what = sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `;
	const reason = describeDriverError(error);
	const details = { backend: BACKEND, sessionId, cause: error };
	if (UNREACHABLE.has(code)) {
		return new BackendError(
			`${what}cannot reach the Postgres server (${reason}). Nothing was written. Check that the server is running and that the connection string (DATABASE_URL) names the right host and port, then retry.`,
			details,
		);
	}
	if (code === '57P03') {
		return new BackendError(`${what}the Postgres server is starting up or shutting down (${reason}). Nothing was written. Retry in a moment.`, details);
	}
	if (LOST.has(code) || code.startsWith('08') || (!code && LOST_MESSAGES.some((re) => re.test(reason)))) {
		return new BackendError(
			`${what}the connection to the Postgres server was lost during the call (${reason}). A save in flight may or may not have been applied: load the session before you retry it.`,
			details,
		);
	}
	if (code === '53300') {
		return new BackendError(
			`${what}the Postgres server refused the connection: too many clients (${reason}). Lower the pool size (max) of your clients or raise max_connections.`,
			details,
		);
	}
	if (code === '28P01' || code === '28000') {
		return new ConfigError(`${what}the Postgres server refused the login (${reason}). Check the user and password in the connection string.`, details);
	}
	if (code === '3D000') {
		return new ConfigError(`${what}${reason}. Create the database, or fix its name in the connection string.`, details);
	}
	if (code === '3F000') {
		// "no schema has been selected to create in" / "schema … does not exist": the connection's
		// search_path (or the schema option) names no existing schema.
		return new ConfigError(
			`${what}the schema does not exist in this database (${reason}). Create it (CREATE SCHEMA …), pass the schema option naming one the store may create, or fix search_path in the connection string.`,
			details,
		);
	}
	if (code === '42501') {
		return new ConfigError(
			`${what}permission denied (${reason}). Grant the role rights on the store's schema and tables, or run store.migrate() once as their owner.`,
			details,
		);
	}
	if (code === '42P10') {
		return new ConfigError(`${what}the sessions table has no primary key on id (${reason}). Add one: ALTER TABLE <table> ADD PRIMARY KEY (id).`, details);
	}
	if (code === '55P03') {
		return new BackendError(`${what}a lock was not granted in time (${reason}); another transaction holds the table. Retry when it has finished.`, details);
	}
	if (code === '54000') {
		return new TooLargeError(`${what}a value is larger than Postgres allows (${reason}). Use layout: 'log', which stores each entry in its own row.`, details);
	}
	return undefined;
}
