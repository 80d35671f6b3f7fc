/**
 * What `doctor` reports: one problem per damaged thing, with the session it belongs to and,
 * where the repair needs no guess, the repair itself.
 */
import type { RawSql } from './raw-sql.js';

/**
 * Kinds of damage, stable for `--json` readers.
 *
 * Repaired by `--fix` (the right state is certain): `format-stamp-missing`, `chunks-extra`,
 * `chunks-orphan`, `parts-extra`, `entries-orphan`, `entry-count-wrong`, `parent-column-wrong`.
 * Left as they are (a repair would have to guess, or the data is gone): every other kind.
 */
export type ProblemKind =
	| 'format-stamp-missing'
	| 'format-stamp-newer'
	| 'format-stamp-unknown'
	| 'row-unparseable'
	| 'chunk-marker-damaged'
	| 'chunks-missing'
	| 'chunks-extra'
	| 'chunks-orphan'
	| 'parts-missing'
	| 'parts-extra'
	| 'parts-unsupported'
	| 'entries-orphan'
	| 'entry-id-mismatch'
	| 'parent-column-wrong'
	| 'entry-count-wrong'
	| 'duplicate-entry-id'
	| 'parent-missing'
	| 'parent-cycle'
	| 'leaf-missing'
	| 'copies-disagree'
	| 'table-name-unsafe'
	| 'table-shape-wrong';

/** One problem found by doctor. */
export interface Problem {
	kind: ProblemKind;
	/** The session the damage belongs to; null for damage to the database as a whole. */
	sessionId: string | null;
	/** The table the damaged rows are in. */
	table: string;
	/** What is wrong, in a sentence. */
	detail: string;
	/**
	 * Fixable: the repair `--fix` makes, as an imperative phrase ("delete the chunk rows").
	 * Otherwise: why it is left and what a person can do.
	 */
	remedy: string;
	fixable: boolean;
	/** Set after `--fix`: whether the repair was made. */
	fixed?: boolean;
	/** Why a repair that was attempted did not happen. */
	fixError?: string;
}

/** A problem with its repair, while doctor runs. */
export interface FoundProblem extends Problem {
	/** Makes the repair in the transaction it is given; returns false when the rows changed since the check. */
	repair?: (sql: RawSql) => Promise<boolean>;
}

/** Receives problems as they are found. */
export type Report = (problem: FoundProblem) => void;

/** A checked session: what a blob and a log copy of it are compared by. */
export interface CheckedSession {
	id: string;
	checksum: string | null;
	updatedAt: number;
}
