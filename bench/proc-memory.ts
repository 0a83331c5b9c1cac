/**
 * Memory of a process and all its descendants (a worker and its Chromium processes), sampled
 * from /proc: the sum of RSS (shared pages counted once per process) and of PSS (shared pages
 * shared out), with peaks.
 */
import fs from 'node:fs';
import { treeIn } from './proc-tree';

// Memory of this process and its descendants

function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(d));
      map.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  return map;
}

export function treeOf(root: number): number[] {
  return treeIn(childrenByParent(), root);
}

export function memoryKb(pid: number): { rss: number; pss: number } {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      rss: Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0),
      pss: Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0),
    };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

export class TreeMemorySampler {
  constructor(private readonly root: number = process.pid) {}
  peakRssKb = 0;
  peakPssKb = 0;
  peakProcesses = 0;
  private timer?: NodeJS.Timeout;
  start(everyMs = 200): this {
    const sample = () => {
      const pids = treeOf(this.root);
      let rss = 0;
      let pss = 0;
      for (const pid of pids) {
        const m = memoryKb(pid);
        rss += m.rss;
        pss += m.pss;
      }
      this.peakRssKb = Math.max(this.peakRssKb, rss);
      this.peakPssKb = Math.max(this.peakPssKb, pss);
      this.peakProcesses = Math.max(this.peakProcesses, pids.length);
    };
    sample();
    this.timer = setInterval(sample, everyMs);
    return this;
  }
  stop(): { peakRssMb: number; peakPssMb: number; peakProcesses: number } {
    clearInterval(this.timer);
    return {
      peakRssMb: Math.round(this.peakRssKb / 1024),
      peakPssMb: Math.round(this.peakPssKb / 1024),
      peakProcesses: this.peakProcesses,
    };
  }
}
