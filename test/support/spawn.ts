/** Runs a command to completion and captures what it printed, as a shell would. */
import { type SpawnOptions, spawn } from 'node:child_process';

export interface Captured {
	code: number | null;
	stdout: string;
	stderr: string;
}

export function capture(command: string, args: string[], options: Pick<SpawnOptions, 'cwd' | 'env'>): Promise<Captured> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
		child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
		child.on('error', reject);
		child.on('close', (code) => resolve({ code, stdout, stderr }));
	});
}
