import { EntityManager } from 'typeorm';

import type { JobStatus } from '../jobs/job-status';

/**
 * Recomputes each job's status, revenue and completion from its routings, in one statement so
 * concurrent updates of sibling routings cannot race (SPEC section 3, job status):
 * completed if any routing completed (revenue = sum over completed, completedAt = first completion),
 * canceled if every routing is canceled or permanently failed, open otherwise.
 */
/** A job whose status, revenue or completion the refresh changed. */
export interface JobChange {
  jobId: string;
  from: JobStatus;
  to: JobStatus;
}

export async function refreshJobAggregates(manager: EntityManager, jobIds: string[]): Promise<JobChange[]> {
  if (!jobIds.length) return [];
  const [rows] = (await manager.query(
    `UPDATE jobs j
        SET status = a.status, revenue_cents = a.revenue_cents, completed_at = a.completed_at,
            finished_at = CASE WHEN a.status IN ('completed', 'canceled') THEN COALESCE(j.finished_at, now()) END,
            updated_at = now()
       FROM (SELECT job_id,
                    CASE WHEN bool_or(status = 'completed') THEN 'completed'
                         WHEN bool_and(status IN ('canceled', 'permanently_failed')) THEN 'canceled'
                         ELSE 'open' END AS status,
                    sum(revenue_cents) FILTER (WHERE status = 'completed') AS revenue_cents,
                    min(completed_at) FILTER (WHERE status = 'completed') AS completed_at
               FROM routings WHERE job_id = ANY($1::uuid[]) GROUP BY job_id) a,
            jobs old
      WHERE j.id = a.job_id AND old.id = j.id
        AND (j.status, j.revenue_cents, j.completed_at) IS DISTINCT FROM (a.status, a.revenue_cents, a.completed_at)
     RETURNING j.id, old.status AS previous, j.status`,
    [[...new Set(jobIds)]],
  )) as [{ id: string; previous: JobStatus; status: JobStatus }[], number];
  return rows.map((r) => ({ jobId: r.id, from: r.previous, to: r.status }));
}
