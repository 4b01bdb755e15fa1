// Memory and CPU of a server and its descendants (cluster workers), read from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux the bench runs on (sysconf(_SC_CLK_TCK))

interface Stat { pid: number; ppid: number; cpuTicks: number }

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The process and all its descendants, parent first. */
export function processTree(root: number): number[] {
  const stats = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map((name) => readStat(Number(name)))
    .filter((stat): stat is Stat => stat !== undefined);
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) {
    for (const stat of stats) if (stat.ppid === tree[i]) tree.push(stat.pid);
  }
  return tree;
}

function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of the whole tree, in MB. */
export function treeRssMb(root: number): number {
  return Math.round(processTree(root).reduce((sum, pid) => sum + rssBytes(pid), 0) / 1024 / 1024);
}

/** CPU seconds (user + system) used so far by the whole tree. */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + (readStat(pid)?.cpuTicks ?? 0), 0) / CLOCK_TICKS_PER_SECOND;
}

export const hasProcFs = (): boolean => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
};
