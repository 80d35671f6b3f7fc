/** Numbers, sizes and times as the page shows them: the same words as the command line. */
import { formatBytes, formatTime } from '../../tools/format.js';

export const fmtBytes = (n: number): string => formatBytes(n);
export const fmtTime = (iso: unknown): string => formatTime(String(iso));
export const fmtInt = (n: number): string => Number(n).toLocaleString('en-US');
export const plural = (n: number, one: string, many = `${one}s`): string => `${fmtInt(n)} ${n === 1 ? one : many}`;
/** A stored word (a type, a role) made fit for a class name. */
export const classWord = (text: string): string => String(text).replace(/[^A-Za-z0-9_-]/g, '_');
