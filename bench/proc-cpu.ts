/**
 * CPU time of named process trees over a phase of a benchmark, from /proc: where the machine's
 * cores went (the worker's Node process, its Chromium processes, the Temporal dev server,
 * PostgreSQL, the API, the benchmark itself) and how much went to processes outside the run
 * (other people on a shared machine).
 *
 * Each tree is walked every `everyMs`; a process's ticks are counted from the first sample of the
 * phase (or from 0 if it was born during the phase) to its last sample, so a process that ends
 * between two samples loses at most one interval.
 */
import fs from 'node:fs';
import os from 'node:os';
import { treeIn } from './proc-tree';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux we run on.

/** One pass over /proc: every process's parent and CPU ticks (utime + stime). */
function scan(): { children: Map<number, number[]>; ticks: Map<number, number> } {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the parenthesised command name start at field 3: ppid is 4, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      // The process ended while we looked.
    }
  }
  return { children, ticks };
}

/** Busy and total ticks of the whole machine (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export interface CpuGroup {
  name: string;
  /** The tree's root. */
  pid: number;
  /** More trees counted in this group (e.g. the four services of a Temporal cluster). */
  alsoTreesOf?: number[];
  /** Only the root process, not its descendants (e.g. the worker's Node process without Chromium). */
  rootOnly?: boolean;
  /** Only the root's descendants (e.g. the worker's Chromium processes without the worker). */
  descendantsOnly?: boolean;
  /** Leave these pids (and their trees) out (e.g. the worker's Chromium from the worker group). */
  excludeTreesOf?: number[];
}

export interface CpuReport {
  seconds: number;
  /** CPU seconds per group and their share of the machine's capacity (cores × seconds), in %. */
  groups: Record<string, { cpuSeconds: number; percentOfMachine: number; cores: number }>;
  machine: { cores: number; busyPercent: number; outsideRunPercent: number };
}

export class CpuSampler {
  private readonly first = new Map<string, Map<number, number>>();
  private readonly last = new Map<string, Map<number, number>>();
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private m0 = machineTicks();
  private started = false;

  constructor(private readonly groups: CpuGroup[]) {}

  private pidsOf(g: CpuGroup, children: Map<number, number[]>): number[] {
    if (g.rootOnly) return [g.pid];
    const excluded = new Set((g.excludeTreesOf ?? []).flatMap((p) => treeIn(children, p)));
    if (g.descendantsOnly) excluded.add(g.pid);
    return [g.pid, ...(g.alsoTreesOf ?? [])].flatMap((root) => treeIn(children, root)).filter((p) => !excluded.has(p));
  }

  private sample(): void {
    // One /proc pass per sample, however many groups: the sampler itself must stay cheap.
    const { children, ticks } = scan();
    for (const g of this.groups) {
      const first = this.first.get(g.name) ?? new Map<number, number>();
      const last = this.last.get(g.name) ?? new Map<number, number>();
      for (const pid of this.pidsOf(g, children)) {
        const t = ticks.get(pid);
        if (t === undefined) continue;
        // Born during the phase: all its ticks belong to it.
        if (!first.has(pid)) first.set(pid, this.started ? 0 : t);
        last.set(pid, t);
      }
      this.first.set(g.name, first);
      this.last.set(g.name, last);
    }
  }

  start(everyMs = 1000): this {
    this.t0 = performance.now();
    this.m0 = machineTicks();
    this.sample();
    this.started = true;
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }

  stop(): CpuReport {
    clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.t0) / 1000;
    const m1 = machineTicks();
    const cores = os.cpus().length;
    const capacity = seconds * cores;
    const groups: CpuReport['groups'] = {};
    let ours = 0;
    for (const g of this.groups) {
      const first = this.first.get(g.name)!;
      let ticks = 0;
      for (const [pid, t] of this.last.get(g.name)!) ticks += t - (first.get(pid) ?? 0);
      const cpuSeconds = ticks / TICKS_PER_SECOND;
      ours += cpuSeconds;
      groups[g.name] = {
        cpuSeconds: round(cpuSeconds),
        percentOfMachine: round((100 * cpuSeconds) / capacity),
        cores: round(cpuSeconds / seconds),
      };
    }
    const busyPercent = (100 * (m1.busy - this.m0.busy)) / Math.max(1, m1.total - this.m0.total);
    return {
      seconds: round(seconds),
      groups,
      machine: {
        cores,
        busyPercent: round(busyPercent),
        outsideRunPercent: round(Math.max(0, busyPercent - (100 * ours) / capacity)),
      },
    };
  }
}

const round = (v: number) => Math.round(v * 10) / 10;

/** A phase's CPU per item: ms per group and in total, to a tenth, with how busy the machine was. */
export function cpuPerItem(report: CpuReport, items: number) {
  return {
    ...Object.fromEntries(
      Object.entries(report.groups).map(([k, g]) => [k, Math.round((g.cpuSeconds * 1000 * 10) / items) / 10]),
    ),
    total: Math.round((Object.values(report.groups).reduce((a, g) => a + g.cpuSeconds, 0) * 1000 * 10) / items) / 10,
    machineBusyPercent: report.machine.busyPercent,
    outsideRunPercent: report.machine.outsideRunPercent,
  };
}
