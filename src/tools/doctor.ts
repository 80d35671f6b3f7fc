/**
 * `doctor`: reads the raw tables of a SQLite-family or Postgres database, finds damage a store
 * would refuse to load (or would load wrongly), and with `fix` repairs what needs no guess.
 *
 * Checks: the format stamp; every blob row, header row and entry row parses; chunk and part
 * counts match their markers; entry rows belong to a session; parent links and the leaf point
 * at entries of the session; the counters of a header row; and, when a table is stored in both
 * layouts, that the two copies of each session are the same session (canonical checksums).
 *
 * Each repair runs in its own transaction and is conditional on the session's revision, so a
 * session written between the check and the repair is left alone (and reported as not fixed).
 */
import { FORMAT_VERSION, parseFormatStamp } from '../core/format.js';
import { ConfigError } from '../errors.js';
import { sqliteTableNames } from '../sql/sqlite-schema.js';
import type { Layout } from '../types.js';
import { checkBlobTable } from './doctor-blob.js';
import { checkLogTables } from './doctor-log.js';
import type { FoundProblem, Problem } from './doctor-types.js';
import { describeFound, inspectDatabase, META_TABLE } from './inspect.js';
import type { RawSql } from './raw-sql.js';

export type { Problem, ProblemKind } from './doctor-types.js';

/** What `runDoctor` checks and whether it repairs. */
export interface DoctorOptions {
	/** Only this session table (base name); default every session table of the database. */
	table?: string;
	/** Only this layout; default every layout a table is stored in. */
	layout?: Layout;
	/** Repair what can be repaired without guessing. */
	fix: boolean;
	/** Checked between pages: true stops the check early (Ctrl-C). */
	stopped?: () => boolean;
	/** Told the number of sessions to check, then each session checked. */
	progress?: { start(total: number): void; tick(): void };
}

/** What `runDoctor` found (and, with `fix`, repaired). */
export interface DoctorResult {
	/** Each table and layout checked, with its number of sessions. */
	checked: Array<{ table: string; layout: Layout; sessions: number; sealed?: true }>;
	problems: Problem[];
	/** Why the check did not reach the end, or null. */
	incomplete: string | null;
}

const META = META_TABLE;

/** Runs the checks on a database and, with `fix`, the repairs. */
export async function runDoctor(raw: RawSql, where: string, options: DoctorOptions): Promise<DoctorResult> {
	const stopped = options.stopped ?? (() => false);
	const found: FoundProblem[] = [];
	const report = (p: FoundProblem) => void found.push(p);
	const inspection = await inspectDatabase(raw);
	const result: DoctorResult = { checked: [], problems: [], incomplete: null };

	let targets = [...inspection.sessionTables].flatMap(([table, layouts]) => [...layouts].sort().map((layout) => ({ table, layout })));
	if (options.table !== undefined) targets = targets.filter((t) => t.table === options.table);
	if (options.layout !== undefined) targets = targets.filter((t) => t.layout === options.layout);
	for (const name of inspection.unsafeNames) {
		report({
			kind: 'table-name-unsafe',
			sessionId: null,
			table: name,
			detail: `a table (or a flue_persist_meta key) is named ${JSON.stringify(name)}, which is not a plain identifier (letters, digits, underscores), so it was not checked`,
			remedy: 'flue-persist never creates such a name; rename or drop the table by hand if it is yours',
			fixable: false,
		});
	}
	for (const u of inspection.unidentified) {
		if (!u.reason.startsWith('is named by flue_persist_meta')) continue;
		report({
			kind: 'table-shape-wrong',
			sessionId: null,
			table: u.table,
			detail: `table ${u.table} ${u.reason}, so it was not checked`,
			remedy: 'check the table by hand: flue-persist does not act on a table whose columns are not its own',
			fixable: false,
		});
	}
	if (targets.length === 0 && found.length === 0) {
		const filter = [options.table && `table ${options.table}`, options.layout && `the ${options.layout} layout`].filter(Boolean).join(' in ');
		throw new ConfigError(
			`${where} holds no flue-persist sessions${filter ? ` in ${filter}` : ''} (found ${describeFound(inspection)}). Check the URL${filter ? ', --table and --layout' : ''}.`,
		);
	}

	// A meta table of another shape is not ours: it is neither read nor repaired.
	if (inspection.tables.has(META) && !inspection.unidentified.some((u) => u.table === META)) {
		const stamp = inspection.stamp;
		if (stamp === null) {
			report({
				kind: 'format-stamp-missing',
				sessionId: null,
				table: META,
				detail: 'the format_version stamp is missing',
				remedy: `stamp format ${FORMAT_VERSION}, the only format this release writes`,
				fixable: true,
				repair: async (sql) =>
					(await sql.run(
						`INSERT INTO ${sql.name(META)} (key, value) SELECT 'format_version', ? WHERE NOT EXISTS (SELECT 1 FROM ${sql.name(META)} WHERE key = 'format_version')`,
						[String(FORMAT_VERSION)],
					)) > 0,
			});
		} else {
			const version = parseFormatStamp(stamp);
			const known = version !== null;
			if (version === null || version > FORMAT_VERSION) {
				report({
					kind: known ? 'format-stamp-newer' : 'format-stamp-unknown',
					sessionId: null,
					table: META,
					detail: known
						? `the database is stamped format ${version}, written by a newer flue-persist; this release reads format ${FORMAT_VERSION}`
						: `the database is stamped ${JSON.stringify(stamp)}, which is no flue-persist format`,
					remedy: known ? 'upgrade flue-persist and run doctor again' : 'check that this database belongs to flue-persist',
					fixable: false,
				});
				result.incomplete = 'the format stamp is not one this release reads, so no rows were checked';
				result.problems = found.map(strip);
				return result;
			}
		}
	}

	let total = 0;
	for (const t of targets) {
		const head = sqliteTableNames(t.table).head(t.layout);
		const [row] = await raw.query(`SELECT count(*) AS n FROM ${raw.name(head)}`);
		total += Number(row?.n ?? 0);
	}
	options.progress?.start(total);

	const checksums = new Map<string, Map<Layout, Map<string, { checksum: string | null; updatedAt: number }>>>();
	// A sealed blob table is a backup frozen at the migration: that the log moved on is expected, not damage.
	const both = new Set([...inspection.sessionTables].filter(([table, layouts]) => layouts.size === 2 && !inspection.sealed.has(table)).map(([table]) => table));
	for (const t of targets) {
		if (stopped()) break;
		let sums: Map<string, { checksum: string | null; updatedAt: number }> | undefined;
		if (both.has(t.table)) {
			const byLayout = checksums.get(t.table) ?? new Map();
			checksums.set(t.table, byLayout);
			sums = new Map();
			byLayout.set(t.layout, sums);
		}
		const scan = {
			stopped,
			onSession: (s: { id: string; checksum: string | null; updatedAt: number }) => {
				sums?.set(s.id, { checksum: s.checksum, updatedAt: s.updatedAt });
				options.progress?.tick();
			},
		};
		const sessions =
			t.layout === 'blob' ? await checkBlobTable(raw, t.table, inspection.tables, report, scan) : await checkLogTables(raw, t.table, report, scan);
		result.checked.push({ table: t.table, layout: t.layout, sessions, ...(t.layout === 'blob' && inspection.sealed.has(t.table) ? { sealed: true } : {}) });
	}

	for (const [table, byLayout] of checksums) {
		const blob = byLayout.get('blob');
		const log = byLayout.get('log');
		if (!blob || !log) continue;
		for (const [id, b] of blob) {
			const l = log.get(id);
			if (!l || b.checksum === null || l.checksum === null || b.checksum === l.checksum) continue;
			const newer =
				b.updatedAt === l.updatedAt ? 'both were written at the same time' : `the ${b.updatedAt > l.updatedAt ? 'blob' : 'log'} copy was written later`;
			report({
				kind: 'copies-disagree',
				sessionId: id,
				table,
				detail: `the blob copy (table ${table}) and the log copy (table ${table}_log) hold different sessions; ${newer}`,
				remedy: `which copy is right cannot be known; decide, delete the wrong one (flue-persist rm <url> ${JSON.stringify(id)} --layout blob|log) and copy the right one over it (flue-persist copy)`,
				fixable: false,
			});
		}
	}
	if (stopped()) result.incomplete = 'the check was interrupted; run doctor again to check every session';

	if (options.fix) {
		for (const p of found) {
			if (!p.repair) continue;
			try {
				p.fixed = await raw.transaction((sql) => p.repair!(sql));
				if (!p.fixed) p.fixError = 'the rows changed after the check (the session was written); run doctor again';
			} catch (error) {
				p.fixed = false;
				p.fixError = `the repair failed: ${(error as Error).message}`;
			}
		}
	}
	result.problems = found.map(strip);
	return result;
}

function strip(p: FoundProblem): Problem {
	const { repair: _repair, ...rest } = p;
	return rest;
}
