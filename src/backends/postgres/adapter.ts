/**
 * The SQL of the Postgres store: the same tables as the SQLite family, written with what Postgres
 * offers that SQLite does not. A save is one statement (data-modifying CTEs), so it is atomic and
 * one round trip on any driver, and a read is one statement, so it sees one snapshot.
 *
 * The revision check lives in the statement: the header row is written only when its stored
 * `updated_at` is the revision the writer read (an UPDATE … WHERE updated_at = $expected, or an
 * INSERT … ON CONFLICT DO NOTHING for a new session), and every entry change is guarded by
 * EXISTS on that write. A concurrent writer waits for the row lock, re-checks the condition
 * against the committed row, finds the revision moved and writes nothing.
 */

import { type RawBlobSession, type RawLogSession, StaleRevisionError, type StorageAdapter, type WritePlan } from '../../core/engine.js';
import { checkFormatStamp, FORMAT_VERSION, layoutKey } from '../../core/format.js';
import { ConfigError, CorruptError, InvalidInputError, quoteId } from '../../errors.js';
import { quotePostgres } from '../../sql/identifiers.js';
import type { Layout, ListPage } from '../../types.js';
import { classifyPostgresError } from './classify.js';
import type { Driver, PgRow, Queryable } from './driver.js';
import { createTableSql, META_TABLE as META, type PostgresTableSpec, postgresOwnedTables, postgresSchemaStatements, postgresTableNames } from './schema.js';

const BACKEND = 'postgres';
/** Sessions copied per statement when a blob table is copied into the log layout. */
const COPY_BATCH = 50;
/** SQLSTATEs raised by the triggers a blob-to-log migration installs. */
const SQLSTATE_STALE = 'FP409';
const SQLSTATE_SEALED = 'FP410';
/** Waits no longer than this for the table locks DDL takes, so queued writers stall briefly at worst. */
const DDL_LOCK_TIMEOUT = '5s';

export interface PostgresLayoutOptions {
	layout: Layout;
	table: string;
	/** null: the connection's search_path decides. */
	schema: string | null;
	/** Never write: init only checks the format stamp, and every write is refused before any I/O. */
	readOnly?: boolean;
}

/**
 * What `migrate()` does beyond creating what is missing.
 *
 * @example
 * await store.migrate({ from: 'blob' }) // then, once every instance uses the log layout:
 * await store.migrate({ from: 'blob', seal: true })
 */
export interface MigrateOptions {
	/**
	 * `'blob'` (log layout only): copy every session of the blob table `<table>` into the log
	 * tables and, until sealed, mirror each write to the blob table into them, so that instances
	 * still on the blob layout lose nothing while the others move over. Safe to run again.
	 */
	from?: 'blob';
	/** With `from: 'blob'`: make the blob table refuse writes (run it once every instance uses the log layout). */
	seal?: boolean;
}

/**
 * What a `migrate()` call did.
 *
 * @example
 * const { created, copied } = await store.migrate({ from: 'blob' })
 */
export interface MigrateResult {
	/** The format version the database is stamped with. */
	formatVersion: number;
	/** Schemas and tables this call created. */
	created: string[];
	/** Sessions copied from the blob table (with `from: 'blob'`). */
	copied: number;
}

/** A Postgres array literal: the drivers then never need to know the array's type. */
function arrayLiteral(values: ReadonlyArray<string | number | null>): string {
	let out = '{';
	for (let i = 0; i < values.length; i++) {
		const v = values[i] as string | number | null;
		if (i > 0) out += ',';
		if (v === null) out += 'NULL';
		else if (typeof v === 'number') out += String(v);
		else out += `"${v.replace(/[\\"]/g, '\\$&')}"`;
	}
	return `${out}}`;
}

/** The smallest string greater than every string that starts with `prefix`, in code point order. */
function prefixEnd(prefix: string): string | null {
	const points = Array.from(prefix);
	while (points.length > 0) {
		const last = points.pop()!.codePointAt(0)!;
		if (last < 0x10ffff) {
			const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
			return points.join('') + String.fromCodePoint(next);
		}
	}
	return null;
}

/** Collects bound parameters while a statement is built; returns their placeholders. */
class Params {
	readonly values: unknown[] = [];
	add(value: unknown, cast?: string): string {
		this.values.push(value);
		return `$${this.values.length}${cast ? `::${cast}` : ''}`;
	}
}

function codeOf(error: unknown): string {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : '';
}

export class PostgresAdapter implements StorageAdapter {
	readonly backend = BACKEND;
	readonly layout: Layout;
	private readonly names: ReturnType<typeof postgresTableNames>;
	/** Quoted, schema-qualified names ready for SQL text. */
	private readonly sql: { blob: string; log: string; entries: string; meta: string; mirror: string };
	private readonly head: string;

	constructor(
		private readonly driver: Driver,
		private readonly options: PostgresLayoutOptions,
	) {
		this.layout = options.layout;
		this.names = postgresTableNames(options.table);
		const q = (name: string) => quotePostgres(name, options.schema);
		this.sql = { blob: q(this.names.blob), log: q(this.names.log), entries: q(this.names.entries), meta: q(META), mirror: q(this.names.mirror) };
		this.head = q(this.names.head(this.layout));
	}

	classifyError = classifyPostgresError;

	// ---------------------------------------------------------------- schema

	/** Which of the store's relations exist (refusing ones of another shape), and the format stamp when the meta table does. */
	private async inspect(q: Queryable): Promise<{ meta: boolean; blob: boolean; log: boolean; entries: boolean; stamp: string | null }> {
		const [row] = await q.query(
			'SELECT to_regclass($1) IS NOT NULL AS meta, to_regclass($2) IS NOT NULL AS blob, to_regclass($3) IS NOT NULL AS log, to_regclass($4) IS NOT NULL AS entries',
			[this.sql.meta, this.sql.blob, this.sql.log, this.sql.entries],
		);
		const found = { meta: row!.meta === true, blob: row!.blob === true, log: row!.log === true, entries: row!.entries === true, stamp: null as string | null };
		if (found.meta || found.log || found.entries) await this.checkColumns(q);
		if (found.meta) found.stamp = await this.readStamp(q);
		return found;
	}

	/** The meta table's `format_version`, or null when it has none (the table must exist). */
	private async readStamp(q: Queryable): Promise<string | null> {
		const [stamp] = await q.query(`SELECT value FROM ${this.sql.meta} WHERE key = 'format_version'`, []);
		return stamp ? String(stamp.value) : null;
	}

	/** A blob table made by hand (the Flue recipe) must have the column types the SQL relies on. */
	private async checkBlobColumns(q: Queryable): Promise<void> {
		const rows = await q.query(
			'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped',
			[this.sql.blob],
		);
		const types = new Map(rows.map((r) => [String(r.name), String(r.type)]));
		const table = this.names.blob;
		for (const column of ['id', 'data', 'updated_at']) {
			if (!types.has(column)) {
				throw new ConfigError(
					`table ${table} has no column ${column}, so it is not a sessions table in the blob layout. Pick another table with the table option.`,
					{ backend: BACKEND },
				);
			}
		}
		const data = types.get('data')!;
		if (data !== 'jsonb') {
			throw new ConfigError(
				`table ${table}: column data is ${data}; the blob layout stores jsonb. Convert it once: ALTER TABLE ${table} ALTER COLUMN data TYPE jsonb USING data::jsonb`,
				{ backend: BACKEND },
			);
		}
		const updatedAt = types.get('updated_at')!;
		if (updatedAt !== 'bigint') {
			throw new ConfigError(
				`table ${table}: column updated_at is ${updatedAt}; the store keeps the write time in milliseconds as bigint. Convert it once: ALTER TABLE ${table} ALTER COLUMN updated_at TYPE bigint${updatedAt.startsWith('timestamp') ? ' USING (extract(epoch FROM updated_at) * 1000)::bigint' : ''}`,
				{ backend: BACKEND },
			);
		}
	}

	/** The tables the store owns besides the blob table (see `postgresOwnedTables`). */
	private ownedTables(): PostgresTableSpec[] {
		return postgresOwnedTables(this.names, this.sql, this.layout);
	}

	/**
	 * Refuses, before any read or write, a table found under one of the store's names whose columns
	 * are not the ones the store creates: an application's table that happens to share the name.
	 */
	private async checkColumns(q: Queryable): Promise<void> {
		const owned = this.ownedTables();
		const rows = await q.query(
			'SELECT t.name, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type FROM unnest($1::text[], $2::text[]) AS t(name, qualified) JOIN pg_attribute a ON a.attrelid = to_regclass(t.qualified) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY t.name, a.attnum',
			[arrayLiteral(owned.map((t) => t.name)), arrayLiteral(owned.map((t) => t.sql))],
		);
		for (const table of owned) {
			const found = rows.filter((r) => r.name === table.name).map((r) => ({ name: String(r.column), type: String(r.type) }));
			if (found.length === 0) continue;
			const byName = new Map(found.map((c) => [c.name, c.type]));
			const same = found.length === table.columns.length && table.columns.every(([name, type]) => byName.get(name) === type);
			if (same) continue;
			throw new ConfigError(
				`table ${table.name} has columns (${found.map((c) => `${c.name} ${c.type}`).join(', ')}), where flue-persist needs (${table.columns.map(([name, type]) => `${name} ${type}`).join(', ')}). ` +
					'It is not a table this store made, so nothing was read or written. Point the store at another table with the table or schema option, or rename the other table.',
				{ backend: BACKEND },
			);
		}
	}

	async init(): Promise<void> {
		if (this.options.readOnly) {
			// Nothing is created or checked beyond the stamp: the caller identified the tables, and a
			// blob table made by hand (Flue's recipe) is read as it is.
			const [row] = await this.driver.query('SELECT to_regclass($1) IS NOT NULL AS meta', [this.sql.meta]);
			if (row?.meta !== true) return;
			const stamp = await this.readStamp(this.driver);
			if (stamp !== null) checkFormatStamp(stamp, BACKEND);
			return;
		}
		const found = await this.inspect(this.driver);
		if (found.stamp !== null) checkFormatStamp(found.stamp, BACKEND);
		const ready = found.stamp !== null && (this.layout === 'blob' ? found.blob : found.log && found.entries);
		if (!ready) {
			await this.migrate();
			return;
		}
		if (this.layout === 'blob') await this.checkBlobColumns(this.driver);
	}

	private ddl(): string[] {
		return postgresSchemaStatements(this.names, this.sql, this.layout);
	}

	/** Creates what is missing and stamps the format; with `from: 'blob'` copies a blob table into the log layout. */
	async migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
		this.refuseMigrate();
		if (typeof options !== 'object' || options === null) throw new ConfigError('migrate() takes an options object or nothing.', { backend: BACKEND });
		const { from, seal = false } = options;
		if (from !== undefined && from !== 'blob')
			throw new ConfigError(`migrate: option from must be 'blob' (got ${JSON.stringify(from)}).`, { backend: BACKEND });
		if (from === 'blob' && this.layout !== 'log') {
			throw new ConfigError("migrate({ from: 'blob' }) copies a blob table into the log layout: call it on a store created with layout: 'log'.", {
				backend: BACKEND,
			});
		}
		if (seal && from !== 'blob')
			throw new ConfigError("migrate: seal applies to a copy from the blob layout; pass { from: 'blob', seal: true }.", { backend: BACKEND });
		const created: string[] = [];
		await this.driver.transaction(async (q) => {
			// IF NOT EXISTS notices would be printed by postgres.js, which logs every notice by default.
			await q.query('SET LOCAL client_min_messages = warning', []);
			await q.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`, []);
			// Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: one migration at a time.
			await q.query("SELECT pg_advisory_xact_lock(('x' || left(encode(sha256(convert_to('flue-persist:migrate', 'UTF8')), 'hex'), 16))::bit(64)::bigint)", []);
			if (this.options.schema) {
				const [row] = await q.query('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present', [this.options.schema]);
				// CREATE SCHEMA IF NOT EXISTS needs the CREATE right on the database even when the schema exists.
				if (row!.present !== true) {
					await q.query(`CREATE SCHEMA IF NOT EXISTS ${quotePostgres(this.options.schema)}`, []);
					created.push(this.options.schema);
				}
			}
			const found = await this.inspect(q);
			if (found.stamp !== null) checkFormatStamp(found.stamp, BACKEND);
			if (!found.meta) {
				await q.query(createTableSql(this.ownedTables().find((t) => t.name === META)!), []);
				created.push(META);
			}
			if (this.layout === 'blob' && found.blob) await this.checkBlobColumns(q);
			if (this.layout === 'log' && !found.log && found.blob && from !== 'blob') {
				const [row] = await q.query(`SELECT EXISTS (SELECT 1 FROM ${this.sql.blob}) AS used`, []);
				if (row!.used === true) {
					throw new ConfigError(
						`table ${this.names.blob} holds sessions in the blob layout, and a log-layout store would not see them. Create the store with layout: 'blob', or copy them over with store.migrate({ from: 'blob' }) (see the Postgres guide).`,
						{ backend: BACKEND },
					);
				}
			}
			const missing =
				this.layout === 'blob'
					? found.blob
						? []
						: [this.names.blob]
					: [...(found.log ? [] : [this.names.log]), ...(found.entries ? [] : [this.names.entries])];
			for (const statement of this.ddl()) await q.query(statement, []);
			created.push(...missing);
			await q.query(`INSERT INTO ${this.sql.meta} (key, value) VALUES ('format_version', $1) ON CONFLICT (key) DO NOTHING`, [String(FORMAT_VERSION)]);
			await q.query(`INSERT INTO ${this.sql.meta} (key, value) VALUES ($1, 'present') ON CONFLICT (key) DO NOTHING`, [
				layoutKey(this.options.table, this.layout),
			]);
			if (from === 'blob') {
				if (!found.blob)
					throw new ConfigError(`migrate: there is no table ${this.names.blob} to copy sessions from. Check the table and schema options.`, {
						backend: BACKEND,
					});
				await this.checkBlobColumns(q);
				// The trigger is in place before the copy starts: a write either commits before it (and the
				// copy sees it) or fires it (and the mirror writes it). DDL waits for in-flight writes.
				await q.query(seal ? this.sealFunction() : this.mirrorFunction(), []);
				await q.query(`DROP TRIGGER IF EXISTS ${quotePostgres(this.names.mirror)} ON ${this.sql.blob}`, []);
				await q.query(
					`CREATE TRIGGER ${quotePostgres(this.names.mirror)} AFTER INSERT OR UPDATE OR DELETE ON ${this.sql.blob} FOR EACH ROW EXECUTE FUNCTION ${this.sql.mirror}()`,
					[],
				);
			}
		});
		const copied = from === 'blob' ? await this.copyBlob() : 0;
		return { formatVersion: FORMAT_VERSION, created, copied };
	}

	/** Header, entry count and size of a blob row, as SQL over the jsonb expression `d`. */
	private static headerSql(d: string): { header: string; count: string; bytes: string } {
		return {
			header: `(${d} || '{"entries": []}'::jsonb)::text`,
			count: `COALESCE(jsonb_array_length(${d} -> 'entries'), 0)`,
			bytes: `octet_length(${d}::text)`,
		};
	}

	/**
	 * Mirrors each write to the blob table into the log tables. A blob writer whose revision the log
	 * layout has moved past (a log-layout instance saved or deleted the session) gets SQLSTATE FP409
	 * and writes nothing, so its turn is refused instead of silently overwritten or lost.
	 */
	private mirrorFunction(): string {
		const h = PostgresAdapter.headerSql('d');
		const copiedKey = `blob_copied:${this.options.table}`;
		return `CREATE OR REPLACE FUNCTION ${this.sql.mirror}() RETURNS trigger LANGUAGE plpgsql AS $fp$
DECLARE
  d jsonb;
  done boolean := false;
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM ${this.sql.log} WHERE id = OLD.id;
    RETURN OLD;
  END IF;
  d := NEW.data::jsonb;
  IF TG_OP = 'UPDATE' THEN
    UPDATE ${this.sql.log} SET header = ${h.header}, updated_at = NEW.updated_at, entry_count = ${h.count}, bytes = ${h.bytes}
      WHERE id = NEW.id AND updated_at = OLD.updated_at;
    done := FOUND;
    -- Once the copy has finished, a blob row without a log row was deleted through the log layout.
    IF NOT done AND EXISTS (SELECT 1 FROM ${this.sql.meta} WHERE key = '${copiedKey}') THEN
      PERFORM 1 FROM ${this.sql.log} WHERE id = NEW.id;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '${SQLSTATE_STALE}', MESSAGE = format('FLUE_PERSIST_STALE_REVISION: session %s was deleted through the log layout, so this write to table %s is refused. Move this writer to layout ''log''.', to_json(NEW.id)::text, TG_TABLE_NAME);
      END IF;
    END IF;
  END IF;
  IF NOT done THEN
    INSERT INTO ${this.sql.log} (id, header, updated_at, entry_count, bytes) VALUES (NEW.id, ${h.header}, NEW.updated_at, ${h.count}, ${h.bytes})
      ON CONFLICT (id) DO NOTHING;
    done := FOUND;
  END IF;
  IF NOT done THEN
    RAISE EXCEPTION USING ERRCODE = '${SQLSTATE_STALE}', MESSAGE = format('FLUE_PERSIST_STALE_REVISION: session %s was saved through the log layout after this writer read it, so this write to table %s is refused and no turn is lost. Load the session again, and move this writer to layout ''log''.', to_json(NEW.id)::text, TG_TABLE_NAME);
  END IF;
  DELETE FROM ${this.sql.entries} WHERE session_id = NEW.id;
  INSERT INTO ${this.sql.entries} (session_id, entry_id, part, parts, pos, parent_id, data)
    SELECT NEW.id, e.value ->> 'id', 0, 1, e.ord - 1, e.value ->> 'parentId', e.value::text
    FROM jsonb_array_elements(COALESCE(d -> 'entries', '[]'::jsonb)) WITH ORDINALITY AS e(value, ord);
  RETURN NEW;
END
$fp$`;
	}

	private sealFunction(): string {
		return `CREATE OR REPLACE FUNCTION ${this.sql.mirror}() RETURNS trigger LANGUAGE plpgsql AS $fp$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '${SQLSTATE_SEALED}', MESSAGE = format('table %s was moved to the log layout and no longer accepts writes. Create the store with layout: ''log''.', TG_TABLE_NAME);
END
$fp$`;
	}

	/**
	 * Copies blob rows that have no log row yet, in primary-key order, a batch per statement. The
	 * rows are read FOR SHARE, so a blob write to one of them waits for the batch (and then fires the
	 * mirror against the copied row) rather than racing it.
	 */
	private async copyBlob(): Promise<number> {
		const h = PostgresAdapter.headerSql('s.d');
		// Two texts rather than "$1 IS NULL OR id > $1", which a generic plan could not run as an index range.
		const statement = (after: boolean) => `WITH src AS (
  SELECT b.id, b.data::jsonb AS d, b.updated_at FROM ${this.sql.blob} b
  ${after ? 'WHERE b.id > $2::text ' : ''}ORDER BY b.id LIMIT $1::int FOR SHARE
), hdr AS (
  INSERT INTO ${this.sql.log} (id, header, updated_at, entry_count, bytes)
  SELECT s.id, ${h.header}, s.updated_at, ${h.count}, ${h.bytes} FROM src s
  ON CONFLICT (id) DO NOTHING
  RETURNING id
), ent AS (
  INSERT INTO ${this.sql.entries} (session_id, entry_id, part, parts, pos, parent_id, data)
  SELECT s.id, e.value ->> 'id', 0, 1, e.ord - 1, e.value ->> 'parentId', e.value::text
  FROM src s JOIN hdr ON hdr.id = s.id
  CROSS JOIN LATERAL jsonb_array_elements(COALESCE(s.d -> 'entries', '[]'::jsonb)) WITH ORDINALITY AS e(value, ord)
)
SELECT (SELECT count(*) FROM src)::int AS scanned, (SELECT count(*) FROM hdr)::int AS copied, (SELECT s.id FROM src s ORDER BY s.id DESC LIMIT 1) AS last`;
		const doneKey = `blob_copied:${this.options.table}`;
		// After a finished copy the mirror keeps the two in step, and a blob row without a log row is a
		// session deleted through the log layout: copying again would bring it back.
		if ((await this.driver.query(`SELECT 1 FROM ${this.sql.meta} WHERE key = $1`, [doneKey])).length > 0) return 0;
		let cursor: string | null = null;
		let copied = 0;
		for (;;) {
			const [row] = await this.driver.query(statement(cursor !== null), cursor === null ? [COPY_BATCH] : [COPY_BATCH, cursor]);
			copied += Number(row!.copied);
			if (Number(row!.scanned) < COPY_BATCH) break;
			cursor = String(row!.last);
		}
		await this.driver.query(`INSERT INTO ${this.sql.meta} (key, value) VALUES ($1, 'done') ON CONFLICT (key) DO NOTHING`, [doneKey]);
		return copied;
	}

	// ---------------------------------------------------------------- reads

	async read(id: string): Promise<RawLogSession | RawBlobSession | null> {
		if (this.layout === 'blob') {
			// data::text: the driver hands back text, never a parsed object it would have to re-serialize.
			const [row] = await this.driver.query(`SELECT data::text AS data, updated_at FROM ${this.sql.blob} WHERE id = $1`, [id], true);
			return row ? { rev: Number(row.updated_at), full: String(row.data) } : null;
		}
		// One row: the server joins the entry texts with a separator JSON text cannot contain (a raw
		// U+001E), so the driver hands over one value instead of a row object per entry, and the keys
		// come as one small JSON array. Both aggregates read the rows in the same (index) order; they
		// are put in session order here, because sorting megabytes of entry text on the server (past
		// work_mem) costs more than sorting a few thousand keys.
		const [row] = await this.driver.query(
			`SELECT h.header, h.updated_at, h.bytes, e.texts, e.keys, e.odd FROM ${this.sql.log} h LEFT JOIN LATERAL (` +
				`SELECT string_agg(x.data, chr(30)) AS texts, json_agg(json_build_array(x.entry_id, x.parent_id, x.pos))::text AS keys, ` +
				`count(*) FILTER (WHERE x.part <> 0 OR x.parts <> 1)::int AS odd FROM ${this.sql.entries} x WHERE x.session_id = h.id) e ON true WHERE h.id = $1`,
			[id],
			true,
		);
		if (!row) return null;
		const corrupt = (detail: string) =>
			new CorruptError(`session ${quoteId(id)}: ${detail}. Nothing was changed. Run \`flue-persist doctor\` to find the damage, or delete the session.`, {
				backend: BACKEND,
				sessionId: id,
			});
		if (Number(row.odd) > 0) throw corrupt(`table ${this.names.entries} holds entries stored in parts, which this store never writes`);
		const entries: RawLogSession['entries'] = [];
		if (row.texts != null) {
			const texts = String(row.texts).split('\u001e');
			const keys = JSON.parse(String(row.keys)) as Array<[string, string | null, number]>;
			if (texts.length !== keys.length)
				throw corrupt(`an entry text in table ${this.names.entries} holds the character U+001E, which JSON text cannot contain`);
			entries.length = keys.length;
			let sorted = true;
			for (let i = 0; i < keys.length; i++) {
				const [entryId, parentId, pos] = keys[i]!;
				entries[i] = { id: entryId, parentId, pos, json: texts[i]! };
				if (i > 0 && (pos < entries[i - 1]!.pos || (pos === entries[i - 1]!.pos && entryId < entries[i - 1]!.id))) sorted = false;
			}
			if (!sorted) entries.sort((a, b) => a.pos - b.pos || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
		}
		return { rev: Number(row.updated_at), header: String(row.header), entries, bytes: Number(row.bytes) };
	}

	async list({ prefix, limit, cursor }: { prefix: string; limit: number; cursor: string | null }): Promise<ListPage> {
		const p = new Params();
		const where: string[] = [];
		if (cursor !== null) where.push(`id COLLATE "C" > ${p.add(cursor, 'text')}`);
		if (prefix !== '') {
			const start = p.add(prefix, 'text');
			// The range lets the primary key of the log table find the first match; starts_with decides.
			where.push(`id COLLATE "C" >= ${start}`, `starts_with(id, ${start})`);
			const end = prefixEnd(prefix);
			if (end !== null) where.push(`id COLLATE "C" < ${p.add(end, 'text')}`);
		}
		// The blob table has no size column: pg_column_size is the stored (possibly compressed) jsonb.
		const bytes = this.layout === 'blob' ? 'pg_column_size(data)' : 'bytes';
		const rows = await this.driver.query(
			`SELECT id, updated_at, ${bytes} AS bytes FROM ${this.head}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id COLLATE "C" LIMIT ${p.add(limit + 1, 'int')}`,
			p.values,
		);
		const page = rows.slice(0, limit);
		return {
			sessions: page.map((r) => ({ id: String(r.id), updatedAt: new Date(Number(r.updated_at)).toISOString(), bytes: Number(r.bytes) })),
			cursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
		};
	}

	// ---------------------------------------------------------------- writes

	/** The whole save as one statement: conditional header write, then the entry changes it guards. */
	private logStatement(plan: WritePlan): { text: string; params: unknown[] } {
		const changes = plan.plan!;
		const p = new Params();
		const id = p.add(plan.id, 'text');
		const header = p.add(plan.header, 'text');
		const rev = p.add(plan.rev, 'bigint');
		const count = p.add(changes.entries.length, 'int');
		const bytes = p.add(plan.bytes, 'bigint');
		const ctes: string[] = [];
		if (plan.expectedRev === null) {
			ctes.push(
				`head AS (INSERT INTO ${this.sql.log} (id, header, updated_at, entry_count, bytes) VALUES (${id}, ${header}, ${rev}, ${count}, ${bytes}) ON CONFLICT (id) DO NOTHING RETURNING 1)`,
			);
		} else {
			ctes.push(
				`head AS (UPDATE ${this.sql.log} SET header = ${header}, updated_at = ${rev}, entry_count = ${count}, bytes = ${bytes} WHERE id = ${id} AND updated_at = ${p.add(plan.expectedRev, 'bigint')} RETURNING 1)`,
			);
			// Removed and upserted ids never overlap, so the two CTEs never touch the same row.
			if (changes.rewrite) {
				const keep = p.add(arrayLiteral(changes.entries.map((e) => e.id)), 'text[]');
				ctes.push(`gone AS (DELETE FROM ${this.sql.entries} WHERE session_id = ${id} AND NOT (entry_id = ANY (${keep})) AND EXISTS (SELECT 1 FROM head))`);
			} else if (changes.removed.length > 0) {
				ctes.push(
					`gone AS (DELETE FROM ${this.sql.entries} WHERE session_id = ${id} AND entry_id = ANY (${p.add(arrayLiteral(changes.removed), 'text[]')}) AND EXISTS (SELECT 1 FROM head))`,
				);
			}
		}
		const upsert = changes.rewrite || plan.expectedRev === null ? changes.entries : [...changes.changed, ...changes.added];
		if (upsert.length > 0) {
			const ids = p.add(arrayLiteral(upsert.map((e) => e.id)), 'text[]');
			const pos = p.add(arrayLiteral(upsert.map((e) => e.pos)), 'bigint[]');
			const parents = p.add(arrayLiteral(upsert.map((e) => e.parentId)), 'text[]');
			const data = p.add(arrayLiteral(upsert.map((e) => e.json)), 'text[]');
			ctes.push(
				`put AS (INSERT INTO ${this.sql.entries} (session_id, entry_id, part, parts, pos, parent_id, data) ` +
					`SELECT ${id}, u.entry_id, 0, 1, u.pos, u.parent_id, u.data FROM unnest(${ids}, ${pos}, ${parents}, ${data}) AS u(entry_id, pos, parent_id, data) WHERE EXISTS (SELECT 1 FROM head) ` +
					'ON CONFLICT (session_id, entry_id, part) DO UPDATE SET parts = excluded.parts, pos = excluded.pos, parent_id = excluded.parent_id, data = excluded.data)',
			);
		}
		return { text: `WITH ${ctes.join(', ')} SELECT count(*)::int AS written FROM head`, params: p.values };
	}

	private blobStatement(plan: WritePlan): { text: string; params: unknown[] } {
		if (plan.expectedRev === null) {
			return {
				text: `INSERT INTO ${this.sql.blob} (id, data, updated_at) VALUES ($1::text, $2::text::jsonb, $3::bigint) ON CONFLICT (id) DO NOTHING RETURNING 1 AS written`,
				params: [plan.id, plan.full, plan.rev],
			};
		}
		return {
			text: `UPDATE ${this.sql.blob} SET data = $2::text::jsonb, updated_at = $3::bigint WHERE id = $1::text AND updated_at = $4::bigint RETURNING 1 AS written`,
			params: [plan.id, plan.full, plan.rev, plan.expectedRev],
		};
	}

	readOnlyReason(): string | null {
		return this.options.readOnly ? 'the store was created with readOnly: true' : null;
	}

	/** A read-only store migrates nothing (saves and deletes are refused by the engine). */
	private refuseMigrate(): void {
		if (!this.options.readOnly) return;
		throw new ConfigError('nothing was migrated: the store was created with readOnly: true, so it only loads and lists. Nothing was written.', {
			backend: BACKEND,
		});
	}

	async write(plan: WritePlan): Promise<void> {
		const { text, params } = this.layout === 'blob' ? this.blobStatement(plan) : this.logStatement(plan);
		let rows: PgRow[];
		try {
			rows = await this.driver.query(text, params, true);
		} catch (error) {
			throw this.writeError(error, plan.id);
		}
		const written = this.layout === 'blob' ? rows.length : Number(rows[0]?.written ?? 0);
		if (written !== 1) throw new StaleRevisionError(plan.id);
	}

	private writeError(error: unknown, id: string): Error {
		const code = codeOf(error);
		// Under REPEATABLE READ or SERIALIZABLE defaults a concurrent write surfaces as 40001 instead of 0 rows.
		if (code === '40001' || code === '40P01' || code === SQLSTATE_STALE) return new StaleRevisionError(id);
		if (code === SQLSTATE_SEALED) {
			return new ConfigError(
				`session ${quoteId(id)}: table ${this.names.blob} was moved to the log layout and no longer accepts writes. Nothing was written. Create the store with layout: 'log'.`,
				{
					backend: BACKEND,
					sessionId: id,
					cause: error,
				},
			);
		}
		if (this.layout === 'blob' && (code === '22P05' || code === '22P02')) {
			return new InvalidInputError(
				`session ${quoteId(id)}: the session holds text that a Postgres jsonb column cannot store (the character \\u0000, or half of a surrogate pair). Nothing was written. Remove it from the data, or create the store with layout: 'log', which keeps the exact JSON text.`,
				{ backend: BACKEND, sessionId: id, cause: error },
			);
		}
		if (code === '22021') {
			return new InvalidInputError(
				`session ${quoteId(id)}: a value holds a character Postgres text cannot store (NUL). Nothing was written. Remove it from the data.`,
				{
					backend: BACKEND,
					sessionId: id,
					cause: error,
				},
			);
		}
		return error as Error;
	}

	async remove(id: string): Promise<void> {
		// Log layout: the foreign key's ON DELETE CASCADE removes the entries in the same statement.
		await this.driver.query(`DELETE FROM ${this.head} WHERE id = $1`, [id]);
	}

	/** The client belongs to the caller, who closes it. */
	async close(): Promise<void> {}
}
