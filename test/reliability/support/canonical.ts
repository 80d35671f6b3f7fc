import { createHash } from 'node:crypto';

/** JSON text with object keys sorted: equal for deep-equal values whatever their key order (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (typeof value === 'object' && value !== null) {
		const keys = Object.keys(value)
			.filter((k) => (value as Record<string, unknown>)[k] !== undefined)
			.sort();
		return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
	}
	return JSON.stringify(value);
}

export function digest(value: unknown): string {
	return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
