/**
 * What Linux says about a process and the machine (/proc): resident memory, CPU time, and the machine's busy time,
 * so a measurement can say how much CPU the server, the load and everything else used while it ran.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

let clockTicks: number | null = null;

/** Kernel clock ticks per second (USER_HZ), the unit of /proc CPU times. */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size in bytes (VmRSS), or null when the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU time of the process, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return 0;
  }
}

/**
 * CPU time of the whole machine (all cores), in seconds: busy (user, nice, system, irq, softirq), waiting for I/O
 * (cores idle while some process waits for the disk: fsync), and stolen by the hypervisor.
 */
export function machineCpuSeconds(): { busy: number; iowait: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const hz = ticksPerSecond();
  return { busy: (user + nice + system + irq + softirq) / hz, iowait: iowait / hz, steal: steal / hz };
}

/**
 * A stopwatch over CPU use: start it, run the load, read how many cores each group of processes kept busy on
 * average (1.0 = one core all the time), and how many everything else on the machine did.
 */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly machineAtStart = machineCpuSeconds();
  private readonly start: Map<string, number>;

  constructor(private readonly groups: Record<string, number[]>) {
    this.start = new Map(Object.entries(groups).map(([name, pids]) => [name, sum(pids.map(cpuSeconds))]));
  }

  read(): { cores: Record<string, number>; otherCores: number; iowaitCores: number; stealCores: number; seconds: number } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cores: Record<string, number> = {};
    let measured = 0;
    for (const [name, pids] of Object.entries(this.groups)) {
      const used = sum(pids.map(cpuSeconds)) - this.start.get(name)!;
      measured += used;
      cores[name] = seconds > 0 ? used / seconds : 0;
    }
    const machine = machineCpuSeconds();
    const busy = machine.busy - this.machineAtStart.busy;
    const per = (x: number) => (seconds > 0 ? Math.max(0, x) / seconds : 0);
    return {
      cores,
      otherCores: per(busy - measured),
      iowaitCores: per(machine.iowait - this.machineAtStart.iowait),
      stealCores: per(machine.steal - this.machineAtStart.steal),
      seconds,
    };
  }
}

export function machineInfo(): { cpus: number; model: string; memoryBytes: number; node: string; kernel: string; loadAverage: number[] } {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    kernel: os.release(),
    loadAverage: os.loadavg(),
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
