import { isoNow } from '../http';
import { LifecycleError } from '../lifecycle';
import type { JobberStore } from './store';
import type {
  JobberAction,
  JobberJobRecord,
  JobberLifecycleResult,
  JobberRequestRecord,
  JobberVisitRecord,
} from './types';

/** A change to announce as a Jobber webhook (WebHookTopicEnum). */
export interface JobberChange {
  topic: string;
  accountId: string;
  itemId: string;
}

const HOUR = 3600_000;

function job(store: JobberStore, request: JobberRequestRecord): JobberJobRecord | null {
  const id = request.jobIds.at(-1);
  return id ? (store.jobs.get(id) ?? null) : null;
}

function visitOf(store: JobberStore, j: JobberJobRecord): JobberVisitRecord {
  return store.visits.get(j.visitIds[0]) as JobberVisitRecord;
}

/** Converts a request into a job with one visit, as "Convert to Job" in Jobber does. */
function convert(store: JobberStore, request: JobberRequestRecord, changes: JobberChange[]): JobberJobRecord {
  const existing = job(store, request);
  if (existing) return existing;
  if (request.requestStatus === 'archived') throw new LifecycleError(409, `request ${request.id} is archived`);
  const now = isoNow();
  const start = new Date(Date.now() + 24 * HOUR);
  const visit: JobberVisitRecord = {
    id: store.nextId('Visit'),
    jobId: '',
    title: request.title,
    startAt: start.toISOString(),
    endAt: new Date(start.getTime() + 2 * HOUR).toISOString(),
    completedAt: null,
    visitStatus: 'UPCOMING',
    createdAt: now,
  };
  const created: JobberJobRecord = {
    id: store.nextId('Job'),
    accountId: request.accountId,
    requestId: request.id,
    clientId: request.clientId,
    propertyId: request.propertyId,
    jobNumber: store.nextJobNumber(),
    title: request.title,
    jobStatus: 'upcoming',
    startAt: visit.startAt,
    endAt: visit.endAt,
    completedAt: null,
    total: 0,
    createdAt: now,
    updatedAt: now,
    visitIds: [visit.id],
  };
  visit.jobId = created.id;
  store.visits.set(visit.id, visit);
  store.jobs.set(created.id, created);
  request.jobIds.push(created.id);
  request.requestStatus = 'converted';
  request.updatedAt = now;
  changes.push(
    { topic: 'REQUEST_UPDATE', accountId: request.accountId, itemId: request.id },
    { topic: 'JOB_CREATE', accountId: request.accountId, itemId: created.id },
    { topic: 'VISIT_CREATE', accountId: request.accountId, itemId: visit.id },
  );
  return created;
}

function openJob(j: JobberJobRecord): void {
  if (j.completedAt) throw new LifecycleError(409, `job ${j.id} is already completed`);
  if (j.jobStatus === 'archived') throw new LifecycleError(409, `job ${j.id} is archived`);
}

/**
 * Moves a request through its life: new → converted to a job (upcoming) → scheduled today → visit
 * started (job active) → completed (completedAt, total in dollars, requires_invoicing) → archived;
 * a request archived without a job is Jobber's cancel; hold puts the job on_hold.
 */
export function applyJobberAction(
  store: JobberStore,
  requestId: string,
  action: JobberAction,
  totalCents?: number,
  changes: JobberChange[] = [],
): JobberLifecycleResult {
  const request = store.requests.get(requestId);
  if (!request) throw new LifecycleError(404, `request ${requestId} not found`);
  const now = isoNow();
  let j = job(store, request);
  const touch = (target: JobberJobRecord, topic = 'JOB_UPDATE') => {
    target.updatedAt = now;
    changes.push({ topic, accountId: target.accountId, itemId: target.id });
  };
  switch (action) {
    case 'convert':
      if (j) throw new LifecycleError(409, `request ${requestId} is already converted`);
      j = convert(store, request, changes);
      break;
    case 'schedule': {
      j = convert(store, request, changes);
      openJob(j);
      const visit = visitOf(store, j);
      const start = new Date(Date.now() + HOUR);
      Object.assign(visit, {
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 2 * HOUR).toISOString(),
        visitStatus: 'TODAY',
      });
      Object.assign(j, { jobStatus: 'today', startAt: visit.startAt, endAt: visit.endAt });
      changes.push({ topic: 'VISIT_UPDATE', accountId: j.accountId, itemId: visit.id });
      touch(j);
      break;
    }
    case 'start': {
      j = convert(store, request, changes);
      openJob(j);
      const visit = visitOf(store, j);
      Object.assign(visit, { startAt: now, visitStatus: 'ACTIVE' });
      Object.assign(j, { jobStatus: 'active', startAt: now });
      changes.push({ topic: 'VISIT_UPDATE', accountId: j.accountId, itemId: visit.id });
      touch(j);
      break;
    }
    case 'hold':
      j = convert(store, request, changes);
      openJob(j);
      j.jobStatus = 'on_hold';
      touch(j);
      break;
    case 'complete': {
      j = convert(store, request, changes);
      openJob(j);
      const visit = visitOf(store, j);
      Object.assign(visit, { startAt: visit.startAt && visit.startAt < now ? visit.startAt : now });
      Object.assign(visit, { completedAt: now, visitStatus: 'COMPLETED' });
      Object.assign(j, { jobStatus: 'requires_invoicing', completedAt: now, total: (totalCents ?? 0) / 100 });
      changes.push({ topic: 'VISIT_COMPLETE', accountId: j.accountId, itemId: visit.id });
      touch(j);
      break;
    }
    case 'archive':
      if (j) {
        if (j.jobStatus === 'archived') throw new LifecycleError(409, `job ${j.id} is already archived`);
        j.jobStatus = 'archived';
        touch(j);
      } else {
        if (request.requestStatus === 'archived') {
          throw new LifecycleError(409, `request ${requestId} is already archived`);
        }
        request.requestStatus = 'archived';
        request.updatedAt = now;
        changes.push({ topic: 'REQUEST_UPDATE', accountId: request.accountId, itemId: request.id });
      }
      break;
  }
  return {
    request: structuredClone(request),
    job: j ? structuredClone(j) : null,
    visits: j ? j.visitIds.map((id) => structuredClone(store.visits.get(id) as JobberVisitRecord)) : [],
  };
}
