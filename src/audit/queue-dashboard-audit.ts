import { AsyncLocalStorage } from 'node:async_hooks';

import type { BoardHooks, ControllerHandlerReturnType, HookContext } from '@bull-board/api/typings/app';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { Actor } from './actor';
import { AuditAction, AuditChanges, recordAuditEvent } from './audit';

// Bull Board's mutating routes (as it declares them) and the audit action each one is.
const ACTIONS: Record<string, AuditAction> = {
  'post /api/queues/:queueName/add': 'queue.job_added',
  'put /api/queues/:queueName/:jobId/retry': 'queue.job_retried',
  'put /api/queues/:queueName/:jobId/clean': 'queue.job_removed',
  'put /api/queues/:queueName/:jobId/promote': 'queue.job_promoted',
  'patch /api/queues/:queueName/:jobId/update-data': 'queue.job_updated',
  'patch /api/queues/:queueName/:jobId/delay': 'queue.job_updated',
  'patch /api/queues/:queueName/:jobId/priority': 'queue.job_updated',
  'put /api/queues/:queueName/:jobId/remove-unprocessed-children': 'queue.job_updated',
  'put /api/queues/:queueName/retry/:queueStatus': 'queue.jobs_retried',
  'put /api/queues/:queueName/clean/:queueStatus': 'queue.jobs_cleaned',
  'put /api/queues/:queueName/promote': 'queue.jobs_promoted',
  'put /api/queues/pause': 'queue.paused',
  'put /api/queues/resume': 'queue.resumed',
  'put /api/queues/:queueName/pause': 'queue.paused',
  'put /api/queues/:queueName/resume': 'queue.resumed',
  'put /api/queues/:queueName/empty': 'queue.emptied',
  'put /api/queues/:queueName/obliterate': 'queue.obliterated',
  'put /api/queues/:queueName/concurrency': 'queue.settings_updated',
  'put /api/queues/:queueName/rate-limit': 'queue.settings_updated',
  'put /api/queues/:queueName/rate-limit/release': 'queue.settings_updated',
  'patch /api/queues/:queueName/job-schedulers/:schedulerId': 'queue.scheduler_updated',
  'put /api/queues/:queueName/job-schedulers/:schedulerId/remove': 'queue.scheduler_removed',
  'put /api/queues/:queueName/job-schedulers/:schedulerId/run': 'queue.scheduler_run',
};

/**
 * Bull Board's handlers are its own code, called with its own request object: the actor reaches the hooks below
 * through this store, set around the dashboard's handling of each authenticated request (asDashboardActor).
 */
const dashboardActor = new AsyncLocalStorage<Actor>();

/** Handles one dashboard request as `actor`'s: the changes it makes are recorded as theirs. */
export function asDashboardActor<T>(actor: Actor, handle: () => T): T {
  return dashboardActor.run(actor, handle);
}

/**
 * Bull Board hooks that record every change made through the queue dashboard (SPEC section 14: `queue.job_added`,
 * ...). The change happens in Redis, where no database transaction reaches: its event is recorded right after
 * it succeeds. Should recording fail, an added job is removed again (the one change that can be undone) and the
 * dashboard shows an error. A change with no known actor is refused.
 */
export function queueDashboardAuditHooks(db: DataSource): BoardHooks {
  const logger = new Logger('QueueDashboardAudit');
  return {
    before: (context) => {
      if (isChange(context) && !dashboardActor.getStore()) return { allow: false, status: 403 };
    },
    after: async (context, result) => {
      const actor = dashboardActor.getStore();
      if (!isChange(context) || !actor || (result.status ?? 200) >= 400) return result;
      const event = describe(context, result);
      try {
        await db.transaction((m) => recordAuditEvent(m, { actor, ...event }));
        return result;
      } catch (error) {
        const { queueName } = context.request.params as { queueName?: string };
        const jobId = event.action === 'queue.job_added' ? addedJobId(result) : undefined;
        if (queueName && jobId) {
          const job = await context.request.queues.get(queueName)?.getJob(jobId);
          await job?.remove().catch(() => undefined);
        }
        logger.error({ err: (error as Error).message, action: event.action }, 'Queue dashboard change not audited');
        return { status: 500, body: { error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' } } } as ControllerHandlerReturnType;
      }
    },
  };
}

function isChange(context: HookContext): boolean {
  return context.method !== 'get';
}

function describe(context: HookContext, result: ControllerHandlerReturnType) {
  const { queueName, jobId, schedulerId, ...rest } = context.request.params as Record<string, string | undefined>;
  const action = ACTIONS[`${context.method} ${context.route}`] ?? 'queue.changed';
  const queue = queueName ?? '*';
  const added = action === 'queue.job_added' ? addedJobId(result) : undefined;
  const changes: AuditChanges = {};
  // Bull Board does not say what it replaced: the new values are what the dashboard sent.
  const body: unknown = context.request.body;
  const sent = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
  for (const [field, value] of Object.entries({ ...rest, ...sent })) {
    changes[field] = { old: null, new: value ?? null };
  }
  if (added) changes.jobId = { old: null, new: added };
  if (action === 'queue.changed') changes.route = { old: null, new: `${context.method} ${context.route}` };
  if (!Object.keys(changes).length) changes.queue = { old: null, new: queue };
  if (jobId ?? added) return { action, resourceType: 'queue_job', resourceId: `${queue}:${jobId ?? added}`, changes };
  if (schedulerId)
    return { action, resourceType: 'queue_job_scheduler', resourceId: `${queue}:${schedulerId}`, changes };
  return { action, resourceType: 'queue', resourceId: queue, changes };
}

function addedJobId(result: ControllerHandlerReturnType): string | undefined {
  const body = result.body as { job?: { id?: unknown } };
  return body.job?.id == null ? undefined : String(body.job.id);
}
