// A Clock for tests: time moves only when the test says so, and due timers fire in order.
import type { Clock, TimerHandle } from '../node/clock.ts';

export class ManualClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  private seq = 0;
  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.time + ms, seq: this.seq++, fn, live: true };
    this.timers.push(t);
    return { cancel: () => (t.live = false) };
  }

  /** Advances time, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.live && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      due.live = false;
      this.time = due.at;
      due.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.time = end;
  }
}
