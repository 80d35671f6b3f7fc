/** Facts about files the tests compare before and after a command. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The SHA-256 of a file's bytes, in hex: equal before and after means the command left the file alone. */
export function fileDigest(path: string): string {
	return createHash('sha256').update(readFileSync(path)).digest('hex');
}
