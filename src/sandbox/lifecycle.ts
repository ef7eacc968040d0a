import { centsToDecimalString, isoNow } from './http';
import type {
  HcpInvoiceResponse,
  HcpLifecycleResult,
  HcpWorkStatus,
  HousecallProAction,
  SandboxRuntimeOptions,
  ServiceTitanAction,
  StJobRecord,
  StJobStatus,
  StLifecycleResult,
} from './sandbox.types';
import {
  HousecallProStore,
  ServiceTitanStore,
  hcpId,
  toBookingResponse,
  toHcpJobResponse,
  toInvoiceResponse,
  toJobResponse,
  type HcpCompany,
  type HcpJob,
  type StBooking,
} from './store';

export class LifecycleError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

// ---------------- ServiceTitan ----------------

const ST_TERMINAL: StJobStatus[] = ['Completed', 'Canceled'];

function convertBooking(store: ServiceTitanStore, booking: StBooking): StJobRecord {
  if (booking.status === 'Dismissed') throw new LifecycleError(409, `booking ${booking.id} is Dismissed`);
  if (booking.jobId) return store.jobs.get(booking.jobId) as StJobRecord;
  const now = isoNow();
  const appointmentId = store.nextId('other');
  const job: StJobRecord = {
    tenantId: booking.tenantId,
    id: store.nextId('job'),
    jobNumber: store.nextJobNumber(),
    customerId: store.nextId('customer'),
    locationId: store.nextId('other'),
    jobStatus: 'Scheduled',
    completedOn: null,
    businessUnitId: booking.businessUnitId,
    jobTypeId: booking.jobTypeId,
    priority: booking.priority ?? 'Normal',
    campaignId: booking.campaignId,
    summary: booking.summary,
    customFields: [],
    appointmentCount: 1,
    firstAppointmentId: appointmentId,
    lastAppointmentId: appointmentId,
    recallForId: null,
    warrantyId: null,
    noCharge: false,
    notificationsEnabled: true,
    createdOn: now,
    createdById: 1,
    modifiedOn: now,
    tagTypeIds: [],
    leadCallId: null,
    bookingId: booking.id,
    soldById: null,
    externalData: null,
    total: 0,
    invoiceId: null,
    projectId: null,
  };
  store.jobs.set(job.id, job);
  booking.status = 'Converted';
  booking.jobId = job.id;
  booking.modifiedOn = now;
  return job;
}

function setJobStatus(job: StJobRecord, status: StJobStatus): void {
  if (ST_TERMINAL.includes(job.jobStatus)) throw new LifecycleError(409, `job ${job.id} is already ${job.jobStatus}`);
  job.jobStatus = status;
  job.modifiedOn = isoNow();
}

function completeStJob(store: ServiceTitanStore, booking: StBooking, job: StJobRecord, totalCents: number): void {
  setJobStatus(job, 'Completed');
  const now = job.modifiedOn;
  const total = centsToDecimalString(totalCents);
  const invoiceId = store.nextId('invoice');
  job.completedOn = now;
  job.total = totalCents / 100;
  job.invoiceId = invoiceId;
  store.invoices.set(invoiceId, {
    tenantId: job.tenantId,
    jobId: job.id,
    id: invoiceId,
    syncStatus: 'Pending',
    referenceNumber: job.jobNumber,
    invoiceDate: now,
    dueDate: now,
    subTotal: total,
    salesTax: '0.00',
    total,
    balance: total,
    summary: job.summary,
    customer: { id: job.customerId, name: booking.name },
    location: { id: job.locationId, name: booking.name },
    businessUnit: job.businessUnitId ? { id: job.businessUnitId, name: 'Sandbox Business Unit' } : null,
    job: { id: job.id, number: job.jobNumber, type: 'Service' },
    items: [
      {
        id: store.nextId('other'),
        description: 'Service',
        quantity: '1.00',
        price: total,
        total,
        type: 'Service',
        modifiedOn: now,
      },
    ],
    createdOn: now,
    modifiedOn: now,
    active: true,
  });
}

export function applyServiceTitanAction(
  store: ServiceTitanStore,
  bookingId: number,
  action: ServiceTitanAction,
  totalCents?: number,
): StLifecycleResult {
  const booking = store.bookings.get(bookingId);
  if (!booking) throw new LifecycleError(404, `booking ${bookingId} not found`);
  let job: StJobRecord | null = booking.jobId ? (store.jobs.get(booking.jobId) ?? null) : null;
  switch (action) {
    case 'dismiss':
      if (booking.status !== 'New') throw new LifecycleError(409, `booking ${bookingId} is ${booking.status}, not New`);
      booking.status = 'Dismissed';
      booking.modifiedOn = isoNow();
      break;
    case 'convert':
      if (booking.jobId) throw new LifecycleError(409, `booking ${bookingId} is already converted`);
      job = convertBooking(store, booking);
      break;
    case 'schedule':
    case 'start':
    case 'hold':
    case 'cancel': {
      job = convertBooking(store, booking);
      const status = ({ schedule: 'Scheduled', start: 'InProgress', hold: 'Hold', cancel: 'Canceled' } as const)[
        action
      ];
      setJobStatus(job, status);
      break;
    }
    case 'complete':
      job = convertBooking(store, booking);
      completeStJob(store, booking, job, totalCents ?? 0);
      break;
  }
  const invoice = job?.invoiceId ? store.invoices.get(job.invoiceId) : undefined;
  return {
    booking: toBookingResponse(booking),
    job: job ? toJobResponse(job) : null,
    invoice: invoice ? toInvoiceResponse(invoice) : null,
  };
}

// ---------------- Housecall Pro ----------------

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

// ---------------- Auto-lifecycle ----------------

const CANCEL_SHARE = 0.1;

/** Moves each new record through its life in three even steps over completeAfterMs. */
export class AutoLifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: () => SandboxRuntimeOptions,
    private readonly st: () => ServiceTitanStore,
    private readonly hcp: () => HousecallProStore,
  ) {}

  onServiceTitanBooking(bookingId: number): void {
    this.plan((action, totalCents) => applyServiceTitanAction(this.st(), bookingId, action, totalCents));
  }

  onHousecallProJob(jobId: string): void {
    this.plan((action, totalCents) => applyHousecallProAction(this.hcp(), jobId, action, totalCents));
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private plan(step: (action: 'schedule' | 'start' | 'cancel' | 'complete', totalCents?: number) => unknown): void {
    const setting = this.options().autoLifecycle;
    if (!setting) return;
    const third = setting.completeAfterMs / 3;
    const canceled = Math.random() < CANCEL_SHARE;
    // 150.00 to 2500.00 USD.
    const totalCents = 15_000 + Math.floor(Math.random() * 235_001);
    this.at(third, () => step('schedule'));
    this.at(2 * third, () => step(canceled ? 'cancel' : 'start'));
    if (!canceled) this.at(3 * third, () => step('complete', totalCents));
  }

  private at(ms: number, fn: () => unknown): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch {
        // Someone moved the record by hand in the meantime; its own state wins.
      }
    }, ms);
    this.timers.add(timer);
  }
}
