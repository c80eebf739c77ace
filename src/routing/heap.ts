// A binary min-heap of (priority, item index) with lazy deletion: pathfinding pushes a node again when
// its cost improves and skips stale entries when popped.
export class MinHeap {
  #prio: number[] = [];
  #item: number[] = [];

  get size(): number {
    return this.#prio.length;
  }

  push(priority: number, item: number): void {
    const p = this.#prio;
    const it = this.#item;
    let i = p.length;
    p.push(priority);
    it.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (p[parent]! <= priority) break;
      p[i] = p[parent]!;
      it[i] = it[parent]!;
      i = parent;
    }
    p[i] = priority;
    it[i] = item;
  }

  /** The item with the lowest priority, or -1 when empty. */
  pop(): number {
    const p = this.#prio;
    const it = this.#item;
    if (p.length === 0) return -1;
    const top = it[0]!;
    const lastP = p.pop()!;
    const lastI = it.pop()!;
    const n = p.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && p[r]! < p[l]! ? r : l;
        if (p[c]! >= lastP) break;
        p[i] = p[c]!;
        it[i] = it[c]!;
        i = c;
      }
      p[i] = lastP;
      it[i] = lastI;
    }
    return top;
  }
}
