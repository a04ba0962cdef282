import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { partitionLag, type createPool, type Kafka } from '@lifecycle/kit';
import { parseProcStatus, serviceOfGroup, type SessionSample } from './e2e-summary.ts';

/** What the bench samples from outside the services: memory and CPU per process, lag per consumer group. */

const run = promisify(execFile);
type Admin = ReturnType<Kafka['admin']>;

/** Resident and peak memory of a process in kB: `/proc/<pid>/status`, or `ps` (no peak) elsewhere. */
export async function processMemory(pid: number): Promise<{ rssKb: number; peakKb: number } | undefined> {
  try {
    const { rssKb, peakKb } = parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
    if (rssKb !== undefined) return { rssKb, peakKb: peakKb ?? rssKb };
  } catch {
    // no /proc (macOS), or the process is gone
  }
  try {
    const rssKb = Number((await run('ps', ['-o', 'rss=', '-p', String(pid)])).stdout.trim());
    return Number.isFinite(rssKb) && rssKb > 0 ? { rssKb, peakKb: rssKb } : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time a process has used, in seconds: `/proc/<pid>/schedstat` (ns on a CPU); undefined where there is none. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const ns = Number((await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records each consumer group of the run is behind (high watermark minus committed offset,
 * summed over the partitions of every topic it has committed on), by group, with the service it
 * belongs to. A group that has not committed on a topic yet shows no lag there: only for the
 * first seconds of a run, since each commits after its first batch.
 */
export async function consumerLag(admin: Admin, prefix: string, services: readonly string[]): Promise<{ group: string; service: string; lag: number }[]> {
  const { groups } = await admin.listGroups();
  const mine = groups.map((g) => ({ group: g.groupId, service: serviceOfGroup(g.groupId, prefix, services) })).filter((g) => g.service !== undefined);
  const highs = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
  const result: { group: string; service: string; lag: number }[] = [];
  for (const { group, service } of mine) {
    if (service === undefined) continue;
    let lag = 0;
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group })) {
      const offsets = highs.get(topic) ?? (await admin.fetchTopicOffsets(topic));
      highs.set(topic, offsets);
      const committed = new Map(partitions.map((p) => [p.partition, p.offset]));
      lag += partitionLag(offsets, committed).reduce((sum, p) => sum + p.lag, 0);
    }
    result.push({ group: group.slice(prefix.length), service, lag });
  }
  return result;
}

/** The run database's sessions other than the asking one, with their backend's pid. */
export async function databaseSessions(pool: ReturnType<typeof createPool>): Promise<(SessionSample & { pid: number })[]> {
  const { rows } = await pool.query<{ pid: number; app: string; state: string | null; wait_type: string | null; wait: string | null }>(
    `SELECT pid, application_name AS app, state, wait_event_type AS wait_type, wait_event AS wait
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
  return rows.map((r) => ({ pid: r.pid, app: r.app, state: r.state, waitType: r.wait_type, wait: r.wait }));
}
