/**
 * How test calls travel from Node into a Worker. Plain JSON would turn the bad inputs the
 * conformance suite sends (BigInt, NaN, functions, Dates, Maps, cycles, undefined ids) into valid
 * JSON before the store could see them, so those values travel tagged and are rebuilt inside.
 */

const TAG = '\u0000wire';
const TAG_IN_JSON = JSON.stringify(TAG).slice(1, -1);

type Tagged = { [TAG]: string; v?: unknown };

/** Turns any value (including non-JSON ones) into text that `decode` rebuilds. */
export function encode(value: unknown): string {
	const ancestors: object[] = [];
	const walk = (v: unknown): unknown => {
		switch (typeof v) {
			case 'undefined':
				return { [TAG]: 'undefined' };
			case 'bigint':
				return { [TAG]: 'bigint', v: String(v) };
			case 'function':
				return { [TAG]: 'function' };
			case 'symbol':
				return { [TAG]: 'symbol', v: v.description ?? '' };
			case 'number':
				return Number.isFinite(v) ? v : { [TAG]: 'number', v: String(v) };
			case 'object': {
				if (v === null) return null;
				if (v instanceof Date) return { [TAG]: 'date', v: v.getTime() };
				if (v instanceof Map) return { [TAG]: 'map', v: [...v].map(([k, x]) => [walk(k), walk(x)]) };
				const at = ancestors.indexOf(v);
				if (at >= 0) return { [TAG]: 'cycle', v: ancestors.length - at };
				ancestors.push(v);
				try {
					if (Array.isArray(v)) return v.map(walk);
					const out: Record<string, unknown> = {};
					for (const key of Object.keys(v)) out[key] = walk((v as Record<string, unknown>)[key]);
					return out;
				} finally {
					ancestors.pop();
				}
			}
			default:
				return v;
		}
	};
	return JSON.stringify(walk(value));
}

/** Rebuilds what `encode` wrote, with the original kinds of values. */
export function decode(text: string): unknown {
	const root: unknown = JSON.parse(text);
	if (!text.includes(TAG_IN_JSON)) return root; // plain JSON: nothing to rebuild, no second copy
	const ancestors: unknown[] = [];
	const walk = (v: unknown): unknown => {
		if (typeof v !== 'object' || v === null) return v;
		if (!Array.isArray(v) && TAG in v) {
			const t = v as Tagged;
			switch (t[TAG]) {
				case 'undefined':
					return undefined;
				case 'bigint':
					return BigInt(t.v as string);
				case 'function':
					return () => 1;
				case 'symbol':
					return Symbol(t.v as string);
				case 'number':
					return Number(t.v);
				case 'date':
					return new Date(t.v as number);
				case 'map':
					return new Map((t.v as Array<[unknown, unknown]>).map(([k, x]) => [walk(k), walk(x)]));
				case 'cycle':
					return ancestors[ancestors.length - (t.v as number)];
			}
		}
		const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
		ancestors.push(out);
		for (const key of Object.keys(v)) (out as Record<string, unknown>)[key] = walk((v as Record<string, unknown>)[key]);
		ancestors.pop();
		return out;
	};
	return walk(root);
}

/** An error as it travels back to Node. */
export interface WireError {
	name: string;
	message: string;
	code?: string;
	backend?: string;
	sessionId?: string;
}

export function errorToWire(error: unknown): WireError {
	const e = error as Partial<WireError> & { message?: unknown };
	return {
		name: typeof e?.name === 'string' ? e.name : 'Error',
		message: typeof e?.message === 'string' ? e.message : String(error),
		code: typeof e?.code === 'string' ? e.code : undefined,
		backend: typeof e?.backend === 'string' ? e.backend : undefined,
		sessionId: typeof e?.sessionId === 'string' ? e.sessionId : undefined,
	};
}
