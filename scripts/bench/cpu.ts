import { readdirSync, readFileSync } from "node:fs";
import type { Knex } from "knex";

/**
 * CPU time, for benchmarks: per request, a figure of the work done that the machine's load hardly
 * moves (unlike requests per second, which other work on the machine takes its share of).
 * Linux only (/proc); undefined elsewhere.
 */
const CLOCK_TICKS = 100; // USER_HZ on Linux

function ticksOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // from field 3 (state) on
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

/** CPU time used so far by this process's main thread (the server's event loop, not a load generator's worker thread), in ms. */
export function serverCpuMs(): number | undefined {
  try {
    return (ticksOf(readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8")) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * CPU time used so far by the PostgreSQL server's processes on this machine, in ms: the backends
 * `pids` when given (those serving one database), else every process named `postgres` (the
 * server's background writers included). A backend that ended between two readings takes its
 * time with it, so read it around work done on long-lived connections.
 */
export function databaseCpuMs(pids?: readonly number[]): number | undefined {
  try {
    let ticks = 0;
    for (const pid of pids?.map(String) ?? readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === "postgres") ticks += ticksOf(stat);
      } catch {
        // the process ended meanwhile
      }
    }
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** The server processes serving `db`'s database (its pool's connections among them), by pid. */
export async function backendsOf(db: Knex): Promise<number[]> {
  const { rows } = await db.raw<{ rows: { pid: number }[] }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
  return rows.map((r) => r.pid);
}
