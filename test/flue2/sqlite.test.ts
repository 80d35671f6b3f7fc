/**
 * The read commands on a SQLite database written by the real Flue 2 runtime (sqlite() adapter):
 * what they print is checked against what the fake model received and answered, and against the
 * runtime's own public snapshot of each instance.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/tools/export-format.js';
import { runSessionCli } from '../support/cli.js';
import { fileDigest } from '../support/files.js';
import { damagedCopy, expectedLines, type Flue2Fixture, type Maybe, messageText, readCopy, sqliteFixture, storedBatches } from './support.js';

let fixture: Maybe<Flue2Fixture>;
beforeAll(async () => {
	fixture = await sqliteFixture();
}, 180_000);

function need(ctx: { skip(note?: string): never }): Flue2Fixture {
	if (!fixture.ok) ctx.skip(fixture.reason);
	return (fixture as { value: Flue2Fixture }).value;
}

const cli = (fx: Flue2Fixture, ...argv: string[]) => runSessionCli(argv, fx.dir);

/** The URL of a copy of the fixture database with damage planted in it. */
const damagedUrl = (...args: Parameters<typeof damagedCopy>) => `sqlite:${damagedCopy(...args)}`;

describe('a Flue 2 SQLite database written by @flue/runtime', () => {
	it('the fixture app resumed instance alpha after a restart: the later request carries the earlier turns', (ctx) => {
		const fx = need(ctx);
		const last = fx.log.filter((e) => e.phase === 2).at(-1)!;
		const users = last.request.messages.filter((m) => m.role === 'user').map(messageText);
		expect(users).toEqual(['Hello, this is the first turn.', 'Please look up order 42.', 'Are you still there?']);
		expect(last.reply.text).toBe('Yes, I remember 2 earlier messages.');
	});

	it('ls lists one row per agent instance with conversations, records, bytes and last activity', async (ctx) => {
		const fx = need(ctx);
		const json = await cli(fx, 'ls', fx.url, '--json');
		expect(json.code).toBe(0);
		const rows = JSON.parse(json.out) as Array<Record<string, unknown>>;
		expect(rows.map((r) => [r.agent, r.instanceId, r.conversations, r.openSubmissions])).toEqual([
			['compacting-agent', 'gamma', 1, 0],
			['fixture-agent', 'alpha', 1, 0],
			['fixture-agent', 'beta', 2, 0],
		]);
		const file = join(fx.dir, 'flue.db');
		for (const row of rows) {
			const batches = storedBatches(file, String(row.path));
			const records = [...batches.values()].flatMap((text) => JSON.parse(text) as Array<{ timestamp: string }>);
			expect(row.records).toBe(records.length);
			expect(row.batches).toBe(batches.size);
			expect(row.lastActivity).toBe(
				records
					.map((r) => r.timestamp)
					.sort()
					.at(-1),
			);
		}
		// The tool result of over 1 MiB sits in alpha's stream, in parts.
		const row = (id: string) => rows.find((r) => r.instanceId === id)!;
		expect(row('alpha').bytes as number).toBeGreaterThan(2_600_000);
		// beta holds a picture of 700,000 bytes, stored as an attachment in two parts.
		expect(row('beta').bytes as number).toBeGreaterThan(700_000);
		expect(row('beta').bytes as number).toBeLessThan(1_000_000);
		expect(row('beta').attachments).toBe(1);
		// gamma's answers are streamed in pieces of 7 characters: most of its records are deltas.
		expect(row('gamma').deltaRecords as number).toBeGreaterThan((row('gamma').records as number) / 2);
		const text = await cli(fx, 'ls', fx.url, '--sort', 'size');
		expect(text.out.split('\n')[0]).toMatch(/^AGENT\s+INSTANCE\s+CONVERSATIONS\s+RECORDS\s+SIZE\s+LAST ACTIVITY\s+OPEN$/);
		expect(text.out).toMatch(/fixture-agent\s+alpha\s+1\s+\d+\s+2\.\d MiB/);
		expect(text.out).toContain('3 instances');
		expect((await cli(fx, 'ls', fx.url, '--agent', 'fixture-agent')).out).toContain('2 instances');
		expect((await cli(fx, 'ls', fx.url, '--agent', 'nobody')).out).toContain('0 instances');
		expect(JSON.parse((await cli(fx, 'ls', fx.url, '--json', '--prefix', 'be')).out).map((r: { instanceId: string }) => r.instanceId)).toEqual(['beta']);
	});

	it('show --json folds each instance into the same messages as the runtime snapshot, message by message', async (ctx) => {
		const fx = need(ctx);
		for (const id of ['alpha', 'beta', 'gamma'] as const) {
			const shown = await cli(fx, 'show', fx.url, id, '--json');
			expect(shown.code).toBe(0);
			const folded = JSON.parse(shown.out) as {
				conversations: Array<{ conversationId: string; kind: string; messages: unknown[] }>;
				records: Array<{ seq: number; record: { v: number } }>;
			};
			const snapshot = fx.snapshots[id];
			const root = folded.conversations[0]!;
			expect(root.kind).toBe('root');
			expect(root.conversationId).toBe(snapshot.conversationId);
			expect(root.messages).toHaveLength(snapshot.messages.length);
			for (const [i, message] of snapshot.messages.entries()) expect(root.messages[i], `${id} message ${i}`).toEqual(message);
			expect(folded.records.every((r) => r.record.v === 1)).toBe(true);
		}
	});

	it('show --json gives the records exactly as stored, the split batch joined', async (ctx) => {
		const fx = need(ctx);
		const folded = JSON.parse((await cli(fx, 'show', fx.url, 'fixture-agent/alpha', '--json')).out) as {
			records: Array<{ seq: number; record: Record<string, unknown> }>;
		};
		const stored = storedBatches(join(fx.dir, 'flue.db'), 'agents/fixture-agent/alpha');
		const expected = [...stored.entries()].flatMap(([seq, text]) => (JSON.parse(text) as unknown[]).map((record) => ({ seq, record })));
		expect(folded.records).toEqual(expected);
		const outcome = folded.records.find((r) => r.record.type === 'tool_outcome')!.record as { output: { padding: string } };
		expect(outcome.output.padding).toHaveLength(1_300_000);
	});

	it('show prints what the fake model received and answered, child task included', async (ctx) => {
		const fx = need(ctx);
		const printed = {
			alpha: (await cli(fx, 'show', fx.url, 'alpha', '--width', '100000')).out,
			beta: (await cli(fx, 'show', fx.url, 'beta', '--width', '100000')).out,
			gamma: (await cli(fx, 'show', fx.url, 'gamma', '--width', '100000')).out,
		};
		const all = `${printed.alpha}${printed.beta}${printed.gamma}`;
		for (const exchange of fx.log) for (const line of expectedLines(exchange)) expect(all).toContain(line);
		// gamma was compacted: each compaction record is a boundary line with the summary the model wrote.
		const records = (JSON.parse((await cli(fx, 'show', fx.url, 'gamma', '--json')).out) as { records: Array<{ record: { type: string } }> }).records;
		const compactions = records.filter((r) => r.record.type === 'compaction').length;
		expect(compactions).toBeGreaterThanOrEqual(2);
		expect(printed.gamma.match(/\n {2}── compaction of [\d,]+ tokens: SUMMARY: /g)).toHaveLength(compactions);
		// The child task's conversation, which the runtime's snapshot leaves out, is nested under beta.
		const child = fx.log.find((e) => e.request.messages.some((m) => messageText(m).startsWith('Count the letters')) && e.reply.text)!;
		expect(printed.beta).toMatch(
			/\n {2}\[assistant\] tool task \{"agent":"flue-general",[^\n]*\n {4}task task_\S+ \(flue-general\), conversation conv_\S+\n {6}\[user\] Count the letters in "persist" and answer with the number\.\n {6}\[assistant\] There are 7 letters\.\n {2}\[assistant\] The helper reported: There are 7 letters\.\n/,
		);
		expect(child.reply.text).toBe('There are 7 letters.');
		expect(printed.alpha).toContain('[assistant] tool lookup_order {"orderId":"42"} → (1,300,033 characters) {"status":"shipped","padding":"xxx');
		expect(printed.alpha).not.toContain('task task_');
		expect(printed.beta).toMatch(
			/\[user\] Here is a picture of the parcel\.\n {2}\[user\] \(file image\/png, 700000 bytes, att_\S+\)\n {2}\[assistant\] I see the picture\.\n/,
		);
	});

	it('show escapes control characters in stored text and names an unknown record type', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'escape', (db) => {
			const row = db.prepare("SELECT seq, data FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = 1").get() as {
				seq: number;
				data: string;
			};
			const records = JSON.parse(row.data) as Array<Record<string, unknown>>;
			records[0]!.content = [{ type: 'text', text: 'red \u001b[31m alert\u202e' }];
			records.push({ ...records[0]!, id: 'record_future', type: 'hologram_projected' });
			db.prepare("UPDATE flue_conversation_stream_batches SET data = ? WHERE path = 'agents/fixture-agent/beta' AND seq = 1").run(JSON.stringify(records));
		});
		const shown = await cli(fx, 'show', url, 'beta');
		expect(shown.code).toBe(0);
		expect(shown.out).toContain('[user] red \\x1b[31m alert\\u202e');
		expect(shown.out).not.toContain('\u001b');
		expect(shown.out).toContain('unknown (hologram_projected) record_future');
	});

	it('show joins assistant text by delta sequence, whatever order the records are in, and shows a record of another version as unknown', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'reordered', (db) => {
			// Every batch of beta with several deltas gets them in reverse order.
			const rows = db.prepare("SELECT seq, data FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' ORDER BY seq").all() as Array<{
				seq: number;
				data: string;
			}>;
			let reordered = 0;
			for (const row of rows) {
				const records = JSON.parse(row.data) as Array<{ type: string }>;
				if (records.filter((r) => r.type === 'assistant_text_delta').length < 2) continue;
				records.reverse();
				reordered++;
				db.prepare("UPDATE flue_conversation_stream_batches SET data = ? WHERE path = 'agents/fixture-agent/beta' AND seq = ?").run(
					JSON.stringify(records),
					row.seq,
				);
			}
			expect(reordered).toBeGreaterThan(0);
			const last = rows.at(-1)!;
			const records = JSON.parse(last.data) as Array<Record<string, unknown>>;
			records.push({ ...records[0]!, v: 2, id: 'record_v2', type: 'user_message' });
			db.prepare("UPDATE flue_conversation_stream_batches SET data = ? WHERE path = 'agents/fixture-agent/beta' AND seq = ?").run(
				JSON.stringify(records),
				last.seq,
			);
		});
		const folded = JSON.parse((await cli(fx, 'show', url, 'beta', '--json')).out) as { conversations: Array<{ messages: unknown[] }> };
		expect(folded.conversations[0]!.messages).toEqual(fx.snapshots.beta.messages);
		const shown = await cli(fx, 'show', url, 'beta');
		expect(shown.out).toContain('[assistant] The helper reported: There are 7 letters.');
		expect(shown.out).toContain('unknown (user_message, v 2) record_v2');
		expect(shown.out).toContain('1 record of a record version this flue-persist does not decode (shown as unknown).');
		const doctor = await cli(fx, 'doctor', url, '--json');
		expect((JSON.parse(doctor.out) as { problems: Array<{ kind: string }> }).problems.map((p) => p.kind)).toEqual(['record-version-unknown']);
	});

	it('--layout and --table are refused on a Flue 2 database', async (ctx) => {
		const fx = need(ctx);
		for (const argv of [
			['ls', fx.url, '--table', 'flue_sessions'],
			['show', fx.url, 'alpha', '--layout', 'log'],
			['export', fx.url, '--table', 'x'],
			['doctor', fx.url, '--layout', 'blob'],
		]) {
			const run = await cli(fx, ...argv);
			expect(run.code, argv[0]).toBe(2);
			expect(run.err, argv[0]).toContain('is a Flue 2 database: --layout and --table apply to flue-persist session stores only.');
		}
	});

	it('show names an instance that is not there and how to list them', async (ctx) => {
		const fx = need(ctx);
		const run = await cli(fx, 'show', fx.url, 'delta');
		expect(run.code).toBe(1);
		expect(run.err).toContain(`instance "delta" is not in ${fx.url} (a Flue 2 database). List the instances with:\n\n  flue-persist ls ${fx.url}`);
	});

	it('export writes checksummed JSON Lines whose batches are the stored text byte for byte', async (ctx) => {
		const fx = need(ctx);
		const out = await cli(fx, 'export', fx.url, '-o', 'export.jsonl', '--checkpoints');
		expect(out.code).toBe(0);
		expect(out.err).toContain('Exported 3 instances');
		const lines = readFileSync(join(fx.dir, 'export.jsonl'), 'utf8')
			.trimEnd()
			.split('\n')
			.map((l) => JSON.parse(l) as Record<string, any>);
		expect(lines[0]).toMatchObject({ format: 'flue-persist-export', version: 1, kind: 'flue2', flueFormatVersion: '1', source: { backend: 'sqlite' } });
		expect(lines.at(-1)).toEqual({ end: true, instances: 3 });
		const instances = lines.slice(1, -1);
		expect(instances.map((l) => l.instance)).toEqual(['compacting-agent/gamma', 'fixture-agent/alpha', 'fixture-agent/beta']);
		for (const line of instances) {
			expect(line.checksum).toBe(
				`sha256:${createHash('sha256')
					.update(canonicalJson({ instance: line.instance, data: line.data }))
					.digest('hex')}`,
			);
			const stored = storedBatches(join(fx.dir, 'flue.db'), line.data.stream.path);
			expect(line.data.batches.map((b: { seq: number }) => b.seq)).toEqual([...stored.keys()]);
			for (const batch of line.data.batches) expect(batch.data).toBe(stored.get(batch.seq));
			expect(line.data.submissions.every((s: { status: string }) => s.status === 'settled')).toBe(true);
			expect('checkpoint' in line.data).toBe(true);
		}
		expect(instances.map((l) => l.data.submissions.length)).toEqual([7, 3, 3]);
		// The runtime checkpoints its fold after 64 appends by one producer: gamma has one, the others none.
		const stored = readCopy(
			join(fx.dir, 'flue.db'),
			(db) =>
				db.prepare('SELECT path, head_offset, format_version, data FROM flue_conversation_fold_checkpoints').all() as Array<{
					path: string;
					head_offset: string;
					format_version: number;
					data: string;
				}>,
		);
		expect(stored.map((c) => c.path)).toEqual(['agents/compacting-agent/gamma']);
		expect(instances[0]!.data.checkpoint).toEqual({
			cache: true,
			headOffset: stored[0]!.head_offset,
			incarnation: expect.any(String),
			formatVersion: stored[0]!.format_version,
			data: stored[0]!.data,
		});
		expect(instances.slice(1).map((l) => l.data.checkpoint)).toEqual([null, null]);
		const [picture] = instances[2]!.data.attachments as Array<{ mimeType: string; byteSize: number; digest: string; bytes: string }>;
		const bytes = Buffer.from(picture!.bytes, 'base64');
		expect([picture!.mimeType, picture!.byteSize, bytes.length]).toEqual(['image/png', 700_000, 700_000]);
		expect(createHash('sha256').update(bytes).digest('hex')).toBe(picture!.digest);
	});

	it('export writes only its own new file: never over the database it reads, never through a planted link', async (ctx) => {
		const fx = need(ctx);
		const file = join(fx.dir, 'self.db');
		copyFileSync(join(fx.dir, 'flue.db'), file);
		const before = fileDigest(file);
		for (const output of ['self.db', 'self.db-wal']) {
			const run = await cli(fx, 'export', `sqlite:${file}`, '-o', output, '--force');
			expect(run.code, output).toBe(1);
			expect(run.err, output).toContain(`Refused: ${output} is the database being exported`);
			expect(run.err, output).toContain('Nothing was written.');
		}
		expect(fileDigest(file)).toBe(before);
		expect(existsSync(`${file}-wal`)).toBe(false);
		const victim = join(fx.dir, 'victim.txt');
		writeFileSync(victim, 'precious');
		symlinkSync(victim, join(fx.dir, 'planted.jsonl.partial'));
		const run = await cli(fx, 'export', `sqlite:${file}`, '-o', 'planted.jsonl');
		expect(run.code).toBe(0);
		expect(readFileSync(victim, 'utf8')).toBe('precious');
		expect(readFileSync(join(fx.dir, 'planted.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(5);
		expect((statSync(join(fx.dir, 'planted.jsonl')).mode & 0o777).toString(8)).toBe('600');
		expect(readdirSync(fx.dir).filter((f) => f.includes('planted.jsonl') && f !== 'planted.jsonl' && f !== 'planted.jsonl.partial')).toEqual([]);
	});

	it('a stream that is not an agent instance is left out of an export, which imports whole, and reset refuses to lose it', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'foreign', (db) => {
			db.prepare(
				"INSERT INTO flue_conversation_streams (path, identity_json, next_offset, producer_id, producer_epoch, next_producer_sequence, incarnation) SELECT 'workflows/nightly', identity_json, 0, producer_id, producer_epoch, next_producer_sequence, incarnation FROM flue_conversation_streams WHERE path = 'agents/fixture-agent/alpha'",
			).run();
		});
		const exported = await cli(fx, 'export', url, '-o', 'foreign.jsonl');
		expect(exported.code).toBe(0);
		expect(exported.err).toContain('Exported 3 instances');
		expect(exported.err).toContain(`Left out a stream that is not an agent instance's: "workflows/nightly".`);
		const target = join(fx.dir, 'foreign-target.db');
		copyFileSync(join(fx.dir, 'flue.db'), target);
		const cleared = new Database(target);
		for (const table of [
			'flue_conversation_stream_batch_chunks',
			'flue_conversation_stream_batches',
			'flue_conversation_fold_checkpoint_chunks',
			'flue_conversation_fold_checkpoints',
			'flue_attachment_chunks',
			'flue_attachments',
			'flue_submission_chunks',
			'flue_agent_submissions',
			'flue_conversation_streams',
		])
			cleared.exec(`DELETE FROM ${table}`);
		cleared.close();
		const imported = await cli(fx, 'import', `sqlite:${target}`, 'foreign.jsonl');
		expect(imported.err).toContain('3 instances');
		expect(imported.code).toBe(0);
		const file = url.slice('sqlite:'.length);
		const before = fileDigest(file);
		const reset = await cli(fx, 'reset', url, '--format', '1', '-o', 'foreign-reset.jsonl', '--yes');
		expect(reset.code).toBe(1);
		expect(reset.err).toContain(`holds a stream that is not an agent instance's ("workflows/nightly")`);
		expect(reset.err).toContain('Nothing was changed.');
		expect(fileDigest(file)).toBe(before);
		expect(existsSync(join(fx.dir, 'foreign-reset.jsonl'))).toBe(false);
	});

	it('read commands change nothing: the file is the same bytes and no -wal or -shm file appears', async (ctx) => {
		const fx = need(ctx);
		const file = join(fx.dir, 'flue.db');
		const before = fileDigest(file);
		expect(existsSync(`${file}-wal`) || existsSync(`${file}-shm`)).toBe(false);
		for (const argv of [
			['ls', fx.url],
			['show', fx.url, 'alpha'],
			['show', fx.url, 'beta', '--json'],
			['export', fx.url, '-o', 'ro.jsonl', '--force'],
			['doctor', fx.url],
		]) {
			const run = await cli(fx, ...argv);
			expect(run.code, argv.join(' ')).toBe(0);
			expect(
				readdirSync(fx.dir).filter((f) => f.startsWith('flue.db')),
				argv.join(' '),
			).toEqual(['flue.db']);
		}
		expect(fileDigest(file)).toBe(before);
	});

	it('doctor finds no damage in what the runtime wrote', async (ctx) => {
		const fx = need(ctx);
		const run = await cli(fx, 'doctor', fx.url);
		expect(run.code).toBe(0);
		const file = join(fx.dir, 'flue.db');
		const batches = ['agents/compacting-agent/gamma', 'agents/fixture-agent/alpha', 'agents/fixture-agent/beta'].reduce(
			(n, path) => n + storedBatches(file, path).size,
			0,
		);
		expect(run.out).toContain(`(Flue 2, format_version 1): 3 instances, ${batches} batches.`);
		expect(run.out).toContain('No damage found.');
	});

	it('doctor finds a missing part of a split batch, and show refuses to read the instance as whole', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'missing-part', (db) =>
			db.prepare("DELETE FROM flue_conversation_stream_batch_chunks WHERE path = 'agents/fixture-agent/alpha' AND chunk_index = 2").run(),
		);
		const run = await cli(fx, 'doctor', url, '--json');
		expect(run.code).toBe(1);
		const report = JSON.parse(run.out) as { problems: Array<{ kind: string; sessionId: string; detail: string }> };
		expect(report.problems).toEqual([expect.objectContaining({ kind: 'batch-parts-missing', sessionId: 'fixture-agent/alpha' })]);
		expect(report.problems[0]!.detail).toMatch(/batch \d+ of stream agents\/fixture-agent\/alpha is stored in 5 parts but part 2 is missing/);
		const shown = await cli(fx, 'show', url, 'alpha');
		expect(shown.code).toBe(1);
		expect(shown.err).toContain('part 2 is missing');
		expect((await cli(fx, 'show', url, 'beta')).code).toBe(0);
	});

	it('doctor finds an attachment with a missing part or bytes that do not match their digest', async (ctx) => {
		const fx = need(ctx);
		const missing = damagedUrl(fx, 'attachment-part', (db) => db.prepare('DELETE FROM flue_attachment_chunks WHERE chunk_index = 1').run());
		const run = await cli(fx, 'doctor', missing, '--json');
		expect(run.code).toBe(1);
		const problems = (JSON.parse(run.out) as { problems: Array<{ kind: string; sessionId: string; detail: string }> }).problems;
		expect(problems.map((p) => [p.kind, p.sessionId])).toEqual([['attachment-damaged', 'fixture-agent/beta']]);
		expect(problems[0]!.detail).toMatch(/is stored in 2 parts but part 1 is missing/);
		const flipped = damagedUrl(fx, 'attachment-bytes', (db) =>
			db.prepare('UPDATE flue_attachment_chunks SET bytes = zeroblob(length(bytes)) WHERE chunk_index = 0').run(),
		);
		const digest = await cli(fx, 'doctor', flipped);
		expect(digest.code).toBe(1);
		expect(digest.out).toContain('· attachment-damaged · flue_attachments');
		expect(digest.out).toContain('does not match its digest');
	});

	it('doctor finds a fold checkpoint whose parts are missing', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'checkpoint', (db) => db.prepare('UPDATE flue_conversation_fold_checkpoints SET data = NULL, chunk_count = 2').run());
		const run = await cli(fx, 'doctor', url);
		expect(run.code).toBe(1);
		expect(run.out).toContain('✗ instance "compacting-agent/gamma" · checkpoint-parts-missing · flue_conversation_fold_checkpoint_chunks');
		expect(run.out).toContain('the fold checkpoint of stream agents/compacting-agent/gamma is stored in 2 parts but parts 0, 1 are missing.');
		// A checkpoint is a cache: the conversation still reads.
		expect((await cli(fx, 'show', url, 'gamma')).code).toBe(0);
	});

	it('doctor finds an orphan batch, a gap in the offsets and stray batch parts', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'orphans', (db) => {
			db.prepare(
				"INSERT INTO flue_conversation_stream_batches (path, seq, producer_id, producer_epoch, producer_sequence, data) VALUES ('agents/fixture-agent/ghost', 0, 'p', 1, 0, '[]')",
			).run();
			db.prepare("DELETE FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq IN (3, 4)").run();
			db.prepare(
				"INSERT INTO flue_conversation_stream_batch_chunks (path, seq, chunk_index, chunk_count, data) VALUES ('agents/fixture-agent/beta', 99, 0, 1, 'x')",
			).run();
		});
		const run = await cli(fx, 'doctor', url);
		expect(run.code).toBe(1);
		expect(run.out).toContain('✗ instance "fixture-agent/beta" · offset-gap · flue_conversation_stream_batches');
		expect(run.out).toContain('batches 3–4 are missing');
		expect(run.out).toContain('✗ instance "fixture-agent/ghost" · orphan-batches · flue_conversation_stream_batches');
		expect(run.out).toContain('✗ instance "fixture-agent/beta" · orphan-batch-parts · flue_conversation_stream_batch_chunks');
		expect(run.out).toContain('3 problems in 2 instances');
		// --json says which of them --fix repairs: the orphans, not the lost batches.
		const json = JSON.parse((await cli(fx, 'doctor', url, '--json')).out) as { problems: Array<{ kind: string; fixable: boolean }> };
		expect(Object.fromEntries(json.problems.map((p) => [p.kind, p.fixable]))).toEqual({
			'offset-gap': false,
			'orphan-batches': true,
			'orphan-batch-parts': true,
		});
	});

	it('an unknown or newer stamp is refused by ls, show and export and reported by doctor', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'stamp', (db) => db.prepare("UPDATE flue_meta SET value = '2' WHERE key = 'format_version'").run());
		for (const argv of [
			['ls', url],
			['show', url, 'alpha'],
			['export', url],
		]) {
			const run = await cli(fx, ...argv);
			expect(run.code, argv[0]).toBe(1);
			expect(run.err).toContain('is a Flue 2 database stamped format_version "2", which this flue-persist does not read (it reads format_version 1)');
			expect(run.out).toBe('');
		}
		const doctor = await cli(fx, 'doctor', url);
		expect(doctor.code).toBe(1);
		expect(doctor.out).toContain('✗ database · format-stamp-newer · flue_meta');
		const missing = damagedUrl(fx, 'no-stamp', (db) => db.prepare('DELETE FROM flue_meta').run());
		expect((await cli(fx, 'ls', missing)).err).toContain('holds Flue 2 tables but no format stamp');
		expect((await cli(fx, 'doctor', missing)).out).toContain('format-stamp-missing');
	});

	it('a session import refuses a Flue 2 database, and doctor --fix on an undamaged one changes nothing', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'refuse', () => undefined);
		const file = url.slice('sqlite:'.length);
		const before = fileDigest(file);
		const fix = await cli(fx, 'doctor', url, '--fix');
		expect(fix.code).toBe(0);
		expect(fix.out).toContain('No damage found.');
		writeFileSync(
			join(fx.dir, 'empty.jsonl'),
			'{"format":"flue-persist-export","version":1,"exportedAt":"2026-01-01T00:00:00.000Z"}\n{"end":true,"sessions":0}\n',
		);
		for (const argv of [['import', url, 'empty.jsonl']]) {
			const run = await cli(fx, ...argv);
			expect(run.code, argv[0]).toBe(1);
			expect(run.err, argv[0]).toContain('is a Flue 2 database (it has flue_meta)');
			// Recognised before SQLite opens the file: not even a -wal or -shm file appears.
			expect(
				readdirSync(fx.dir).filter((f) => f.startsWith('refuse.db')),
				argv[0],
			).toEqual(['refuse.db']);
		}
		const copy = await cli(fx, 'copy', '--from', url, '--to', 'sqlite:elsewhere.db');
		expect(copy.code).toBe(1);
		expect(copy.err).toContain('holds no Flue 2 tables');
		expect(existsSync(join(fx.dir, 'elsewhere.db'))).toBe(false);
		const db = new Database(file, { readonly: true });
		const tables = (
			db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'flue\\_%' ESCAPE '\\' AND name <> 'sqlite_sequence'").all() as Array<{
				name: string;
			}>
		).map((r) => r.name);
		db.close();
		expect(tables).toEqual([]);
		expect(fileDigest(file)).toBe(before);
	});

	it('doctor --fix deletes orphan batches and stray parts, leaves a gap with its remedy, and stamps only a whole database', async (ctx) => {
		const fx = need(ctx);
		const url = damagedUrl(fx, 'fix', (db) => {
			// Parts whose attachment is gone: only possible with the foreign key off (another writer, a hand edit).
			db.pragma('foreign_keys = OFF');
			db.prepare(
				"INSERT INTO flue_conversation_stream_batches (path, seq, producer_id, producer_epoch, producer_sequence, data) VALUES ('agents/fixture-agent/ghost', 0, 'p', 1, 0, '[]')",
			).run();
			db.prepare(
				"INSERT INTO flue_conversation_stream_batch_chunks (path, seq, chunk_index, chunk_count, data) VALUES ('agents/fixture-agent/ghost', 0, 0, 1, 'x')",
			).run();
			db.prepare(
				"INSERT INTO flue_conversation_stream_batch_chunks (path, seq, chunk_index, chunk_count, data) VALUES ('agents/fixture-agent/beta', 99, 0, 1, 'x')",
			).run();
			db.prepare(
				"INSERT INTO flue_attachment_chunks (stream_path, attachment_id, chunk_index, bytes) VALUES ('agents/fixture-agent/beta', 'att_gone', 0, x'00')",
			).run();
			db.prepare("DELETE FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = 3").run();
			db.prepare('DELETE FROM flue_meta').run();
		});
		const file = url.slice('sqlite:'.length);
		const fixed = await cli(fx, 'doctor', url, '--fix');
		expect(fixed.code).toBe(1);
		expect(fixed.out).toContain('✓ instance "fixture-agent/ghost" · orphan-batches · flue_conversation_stream_batches');
		expect(fixed.out).toContain('✓ instance "fixture-agent/beta" · orphan-batch-parts');
		expect(fixed.out).toContain('✓ instance "fixture-agent/beta" · orphan-attachment-parts');
		expect(fixed.out).toContain('✗ instance "fixture-agent/beta" · offset-gap');
		expect(fixed.out).toMatch(/✗ database · format-stamp-missing · flue_meta\n.*\n {4}left as it is: other damage is left/);
		const db = new Database(file);
		expect(db.prepare("SELECT count(*) AS n FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/ghost'").get()).toEqual({ n: 0 });
		expect(db.prepare("SELECT count(*) AS n FROM flue_conversation_stream_batch_chunks WHERE seq = 99 OR path = 'agents/fixture-agent/ghost'").get()).toEqual({
			n: 0,
		});
		expect(db.prepare("SELECT count(*) AS n FROM flue_attachment_chunks WHERE attachment_id = 'att_gone'").get()).toEqual({ n: 0 });
		expect(db.prepare('SELECT count(*) AS n FROM flue_meta').get()).toEqual({ n: 0 });
		// The gap repaired by hand (the batch restored from the fixture): now the stamp has one right answer.
		const original = new Database(join(fx.dir, 'flue.db'), { readonly: true });
		const row = original.prepare("SELECT * FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = 3").get() as Record<
			string,
			unknown
		>;
		original.close();
		db.prepare(
			`INSERT INTO flue_conversation_stream_batches (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
				.map(() => '?')
				.join(', ')})`,
		).run(...Object.values(row));
		db.close();
		const stamped = await cli(fx, 'doctor', url, '--fix');
		expect(stamped.out).toContain('✓ database · format-stamp-missing · flue_meta');
		expect(stamped.code).toBe(0);
		expect((await cli(fx, 'doctor', url)).out).toContain('No damage found.');
		expect((await cli(fx, 'ls', url)).code).toBe(0);
	});
});
