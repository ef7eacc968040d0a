import { isoNow } from '../http';
import { LifecycleError } from '../lifecycle';
import { HousecallProStore, hcpId, toHcpJobResponse, type HcpCompany, type HcpJob } from './store';
import type { HcpInvoiceResponse, HcpLifecycleResult, HcpWorkStatus, HousecallProAction } from './types';

const HCP_TERMINAL: HcpWorkStatus[] = ['complete rated', 'complete unrated', 'user canceled', 'pro canceled'];

function completeHcpJob(company: HcpCompany, job: HcpJob, totalCents: number, now: string): void {
  job.work_status = 'complete unrated';
  job.work_timestamps.on_my_way_at ??= now;
  job.work_timestamps.started_at ??= now;
  job.work_timestamps.completed_at = now;
  job.total_amount = totalCents;
  job.subtotal = totalCents;
  job.outstanding_balance = totalCents;
  const invoice: HcpInvoiceResponse = {
    id: hcpId('invoice'),
    job_id: job.id,
    invoice_number: job.invoice_number,
    status: 'open',
    amount: totalCents,
    subtotal: totalCents,
    due_amount: totalCents,
    paid_at: null,
    sent_at: null,
    service_date: now,
    invoice_date: now,
    items: [{ name: 'Service', unit_price: totalCents, quantity: 1, amount: totalCents }],
    taxes: [],
    discounts: [],
    payments: [],
  };
  company.invoices.set(job.id, [...(company.invoices.get(job.id) ?? []), invoice]);
}

export function applyHousecallProAction(
  store: HousecallProStore,
  jobId: string,
  action: HousecallProAction,
  totalCents?: number,
): HcpLifecycleResult {
  const found = store.findJob(jobId);
  if (!found) throw new LifecycleError(404, `job ${jobId} not found`);
  const { company, job } = found;
  if (HCP_TERMINAL.includes(job.work_status))
    throw new LifecycleError(409, `job ${jobId} is already ${job.work_status}`);
  const now = isoNow();
  switch (action) {
    case 'schedule':
      if (job.work_status === 'in progress') throw new LifecycleError(409, `job ${jobId} is already in progress`);
      job.work_status = 'scheduled';
      if (!job.schedule.scheduled_start) {
        const start = Date.now() + 24 * 3600_000;
        job.schedule.scheduled_start = new Date(start).toISOString();
        job.schedule.scheduled_end = new Date(start + 2 * 3600_000).toISOString();
      }
      break;
    case 'start':
      job.work_status = 'in progress';
      job.work_timestamps.on_my_way_at ??= now;
      job.work_timestamps.started_at = now;
      break;
    case 'complete':
      completeHcpJob(company, job, totalCents ?? job.total_amount, now);
      break;
    case 'cancel':
      job.work_status = 'pro canceled';
      job.deleted_at = now;
      break;
  }
  job.updated_at = now;
  return { job: toHcpJobResponse(company, job), invoice: company.invoices.get(job.id)?.at(-1) ?? null };
}
