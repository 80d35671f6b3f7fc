/** Sessions shaped to stress the viewers: long chains, deeply nested forks, wide fans. */
import { expect } from 'vitest';
import { emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import type { SessionData, SessionEntry } from '../../src/types.js';

const pad = (prefix: string, i: number) => `${prefix}${i.toString(36).padStart(6, '0')}`;

/** Entry ids of `nestedForks`: the trunk entry at fork `i`, and the side branch it grows. */
export const trunkId = (i: number) => pad('m', i);
export const sideId = (i: number) => pad('s', i);

/**
 * `forks` forks nested in each other: every trunk entry has two children, a one-entry side branch
 * first and the trunk going on second, and the leaf is at the bottom. `2 × forks + 1` entries.
 */
export function nestedForks(forks: number): SessionData {
	const entries: SessionEntry[] = [];
	let parent: string | null = null;
	for (let i = 0; i < forks; i++) {
		entries.push(messageEntry(trunkId(i), parent, i % 2 ? 'assistant' : 'user', `turn ${i}`, i));
		entries.push(messageEntry(sideId(i), trunkId(i), 'assistant', `side ${i}`, i));
		parent = trunkId(i);
	}
	entries.push(messageEntry('leaf', parent, 'assistant', 'the end'));
	return { ...emptySession(), entries, leafId: 'leaf' };
}

/** One line of `n` messages, user and assistant in turn. */
export function chain(n: number): SessionData {
	const entries: SessionEntry[] = [];
	let parent: string | null = null;
	for (let i = 0; i < n; i++) {
		entries.push(messageEntry(pad('c', i), parent, i % 2 ? 'assistant' : 'user', `message ${i}: ${'some words '.repeat(6)}`, i));
		parent = pad('c', i);
	}
	return { ...emptySession(), entries, leafId: parent };
}

/** One question answered `n - 1` times: a fork with `n - 1` branches. */
export function fan(n: number): SessionData {
	const entries: SessionEntry[] = [messageEntry('root', null, 'user', 'the question')];
	for (let i = 1; i < n; i++) entries.push(messageEntry(pad('a', i), 'root', 'assistant', `answer ${i}`, i));
	return { ...emptySession(), entries, leafId: pad('a', n - 1) };
}

/** CPU time of `fn` in milliseconds: the test machine is shared, and a busy neighbour is not slow code. */
function cpuMs(fn: () => void): number {
	const started = process.cpuUsage();
	fn();
	const used = process.cpuUsage(started);
	return (used.user + used.system) / 1000;
}

/** The three shapes of a large session, at a size: a chain, nested forks, one fork of many branches. */
const SHAPES: Array<[string, (entries: number) => SessionData]> = [
	['chain', (n) => chain(n)],
	['nested forks', (n) => nestedForks(Math.floor(n / 2) - 1)],
	['fan', (n) => fan(n)],
];

/**
 * How the CPU time of `work` grows from a session of `small` entries to one ten times larger, in
 * each shape: about 10 for work linear in the entries, about 100 for quadratic work. A ratio, not
 * a time, so it holds on a slow or busy machine; each size runs once before it is measured, so
 * that the compiler's warm-up is in neither figure. The small run counts at least 10 ms, so
 * that timer resolution cannot make the ratio large.
 */
function growthOf(work: (data: SessionData, shape: string) => void, small = 10_000): Array<{ shape: string; ratio: number; smallMs: number; largeMs: number }> {
	return SHAPES.map(([shape, build]) => {
		const a = build(small);
		const b = build(small * 10);
		work(a, shape);
		const smallMs = Math.max(
			10,
			cpuMs(() => work(a, shape)),
		);
		const largeMs = cpuMs(() => work(b, shape));
		return { shape, ratio: largeMs / smallMs, smallMs, largeMs };
	});
}

/**
 * Asserts that the CPU time of `work` grows linearly with the entries in every shape: ten times the
 * entries must cost under 30 times the time (about 10 when linear, about 100 when quadratic).
 */
export function expectLinearGrowth(work: (data: SessionData, shape: string) => void): void {
	for (const { shape, ratio, smallMs, largeMs } of growthOf(work)) {
		expect(ratio, `${shape}: ${smallMs.toFixed(0)} ms for 10,000 entries, ${largeMs.toFixed(0)} ms for 100,000`).toBeLessThan(30);
	}
}
