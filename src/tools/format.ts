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
	return new Date(time).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
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
