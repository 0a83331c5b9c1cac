/** Resident memory of one process over a phase of a benchmark, sampled from /proc. */
import fs from 'node:fs';

/** Peak and samples of a process's resident memory, from /proc. */
export class RssSampler {
  peakKb = 0;
  samples: Array<{ t: number; kb: number }> = [];
  private timer?: NodeJS.Timeout;
  constructor(private readonly pid: number) {}
  private t0 = Date.now();
  start(everyMs = 1000) {
    this.t0 = Date.now();
    // A sample at both ends too: a run shorter than the interval would otherwise report 0 MB.
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }
  stop() {
    clearInterval(this.timer);
    this.sample();
    return this;
  }
  private sample() {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      this.peakKb = Math.max(this.peakKb, kb);
      this.samples.push({ t: Date.now() - this.t0, kb });
    } catch {
      // process gone
    }
  }
  /** Peak RSS per tenth of the run: flat memory shows as flat numbers. */
  deciles(): number[] {
    if (this.samples.length === 0) return [];
    const out: number[] = [];
    for (let d = 0; d < 10; d++) {
      const part = this.samples.slice(
        Math.floor((d * this.samples.length) / 10),
        Math.floor(((d + 1) * this.samples.length) / 10),
      );
      if (part.length) out.push(Math.round(Math.max(...part.map((s) => s.kb)) / 1024));
    }
    return out;
  }
}
