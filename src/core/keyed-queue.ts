/** Runs tasks one after another per key, in call order. */
export class KeyedQueue {
	private tails = new Map<string, Promise<unknown>>();

	run<T>(key: string, task: () => Promise<T>): Promise<T> {
		const prev = this.tails.get(key) ?? Promise.resolve();
		const next = prev.then(task, task);
		const tail = next.catch(() => undefined);
		this.tails.set(key, tail);
		void tail.then(() => {
			if (this.tails.get(key) === tail) this.tails.delete(key);
		});
		return next;
	}

	async drain(): Promise<void> {
		while (this.tails.size > 0) await Promise.all(this.tails.values());
	}
}
