/** Durations, sizes and times as people type and read them. */

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration such as `30d`, `12h`, `1d12h` or `90m` (units s, m, h, d, w) into
 * milliseconds; null when the text is not one.
 */
export function parseDuration(text: string): number | null {
	const trimmed = text.trim();
	if (!/^(\d+(\.\d+)?[smhdw])+$/.test(trimmed)) return null;
	let total = 0;
	for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) total += Number(amount) * UNITS[unit!]!;
	return total > 0 ? total : null;
}

/**
 * Parses "since when": an ISO date or time (`2026-01-01`, `2026-01-01T12:00:00Z`), or a duration
 * meaning that long before `now`. Returns epoch milliseconds, or null.
 */
export function parseSince(text: string, now: number): number | null {
	const duration = parseDuration(text);
	if (duration !== null) return now - duration;
	if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
	const time = Date.parse(text.trim());
	return Number.isNaN(time) ? null : time;
}

/** Bytes for a person: `812 B`, `12.4 KiB`, `3.1 MiB`. */
export function formatBytes(bytes: number): string {
	if (!Number.isFinite(bytes) || bytes < 0) return '?';
	if (bytes < 1024) return `${bytes} B`;
	const units = ['KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes / 1024;
	let i = 0;
	while (value >= 1024 && i < units.length - 1) {
		value /= 1024;
		i++;
	}
	return `${value.toFixed(1)} ${units[i]}`;
}

/** An ISO time to the second, in UTC: `2026-01-01 12:00:03Z`. */
export function formatTime(iso: string): string {
	const time = Date.parse(iso);
	if (Number.isNaN(time)) return iso;
	return new Date(time)
		.toISOString()
		.replace('T', ' ')
		.replace(/\.\d{3}Z$/, 'Z');
}

/** Rows padded into columns; the last column is not padded. `right` lists columns aligned right. */
export function columns(rows: string[][], right: number[] = []): string {
	if (rows.length === 0) return '';
	const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
	return rows
		.map((r) =>
			r
				.map((cell, c) => {
					if (c === r.length - 1 && !right.includes(c)) return cell;
					return right.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!);
				})
				.join('  ')
				.trimEnd(),
		)
		.join('\n');
}

/** `1 session`, `2 sessions`. */
export function count(n: number, one: string, many = `${one}s`): string {
	return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * Text from a store (ids, entry text, table names) made safe to print for a person: control
 * characters (C0, DEL, C1), line and paragraph separators and bidirectional overrides would
 * retitle, recolour or rewrite the terminal, or forge a row; each becomes a visible escape (`\n`,
 * `\x1b`, `\u202e`). Backslashes stay as they are, so that printed ids can be copied (Flue's keys
 * are JSON and carry `\"`). `--json` output never passes through here: it stays exact.
 */
export function escapeText(text: string): string {
	return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
		const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
		if (named[c]) return named[c]!;
		const code = c.charCodeAt(0);
		return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
	});
}

/**
 * A message of several lines made safe to print: each line passes `escapeText`, and the line
 * breaks the message was written with are kept. Values inside it must not carry their own line
 * breaks (quote them with JSON.stringify or escape them first), or they would start a line.
 */
export function escapeLines(text: string): string {
	return text.split('\n').map(escapeText).join('\n');
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), giving up above `max`. */
function distance(a: string, b: string, max: number): number {
	if (Math.abs(a.length - b.length) > max) return max + 1;
	let prev2: number[] = [];
	let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
	for (let i = 1; i <= a.length; i++) {
		const row = [i];
		let best = i;
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
			row.push(d);
			best = Math.min(best, d);
		}
		if (best > max) return max + 1;
		prev2 = prev;
		prev = row;
	}
	return prev[b.length]!;
}

/**
 * The candidates closest to a word a person typed (a misspelt connector, a session id that is
 * not there), best first: those within a few edits, and those that start with it.
 */
export function closestMatches(word: string, candidates: Iterable<string>, limit = 3): string[] {
	const max = Math.max(2, Math.floor(word.length / 4));
	const scored: Array<{ c: string; d: number }> = [];
	for (const c of candidates) {
		const d = c.startsWith(word) && c !== word ? 0.5 : distance(word, c, max);
		if (d <= max) scored.push({ c, d });
	}
	scored.sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0));
	return scored.slice(0, limit).map((s) => s.c);
}
