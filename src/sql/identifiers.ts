/**
 * The one owner of identifiers in SQL text. Every table, schema, trigger or function name that a
 * store or a tool splices into a statement passes `checkIdentifier` (names from options and URLs)
 * or one of the quoting functions here (every name, whatever its origin: options, the database
 * catalog, `flue_persist_meta`). Values never reach SQL text: they travel as bound parameters.
 *
 * The pattern is deliberately narrower than what either dialect would accept when quoted: a name
 * that fails it is never used, so no escaping rule has to be right for it to be safe. A name read
 * from a database that fails it is skipped (and `doctor` reports it).
 */
import { ConfigError } from '../errors.js';

/** A name a person may choose for a table or schema: room is left for the suffixes the stores add. */
const OPTION_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** Any name the stores and tools put in SQL text: a chosen name plus a suffix (`_entries`, `_guard_check`), within Postgres's 63 bytes. */
const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Whether a name read from anywhere may be put in SQL text (quoted). */
export function isSqlIdentifier(name: unknown): name is string {
	return typeof name === 'string' && SQL_IDENTIFIER.test(name);
}

/** Checks a name that reaches SQL text from an option or a URL (a table or schema). */
export function checkIdentifier(value: unknown, option: string, backend: string): string {
	if (typeof value !== 'string' || !OPTION_IDENTIFIER.test(value)) {
		throw new ConfigError(
			`option ${option} must be a SQL identifier: a letter or underscore, then letters, digits or underscores, at most 48 characters (got ${JSON.stringify(value)}).`,
			{ backend },
		);
	}
	return value;
}

function quoted(name: string, quote = '"'): string {
	if (!isSqlIdentifier(name)) {
		// Unreachable through checked options; a catalog name must be tested with isSqlIdentifier first.
		throw new ConfigError(`refused to put ${JSON.stringify(name)} in SQL text: it is not a plain identifier (letters, digits, underscores).`);
	}
	return `${quote}${name}${quote}`;
}

/**
 * A table or trigger name quoted for SQLite (better-sqlite3, D1, Durable Object SQLite).
 * Throws `ConfigError` for a name that is not a plain identifier.
 *
 * @example
 * quoteSqlite('flue_sessions_log') // '"flue_sessions_log"'
 */
export function quoteSqlite(name: string): string {
	return quoted(name);
}

/**
 * A name quoted for Postgres, qualified by its schema when one is given.
 * Throws `ConfigError` for a name (or schema) that is not a plain identifier.
 *
 * @example
 * quotePostgres('flue_sessions', 'agents') // '"agents"."flue_sessions"'
 */
export function quotePostgres(name: string, schema?: string | null): string {
	return schema ? `${quoted(schema)}.${quoted(name)}` : quoted(name);
}

/**
 * A table name quoted for MySQL and MariaDB (the Flue 2 tools), in backticks.
 * Throws `ConfigError` for a name that is not a plain identifier.
 *
 * @example
 * quoteMysql('flue_meta') // '`flue_meta`'
 */
export function quoteMysql(name: string): string {
	return quoted(name, '`');
}
