import { centsToDecimalString, isoNow } from '../http';
import { LifecycleError } from '../lifecycle';
import { ServiceTitanStore, toBookingResponse, toInvoiceResponse, toJobResponse, type StBooking } from './store';
import type { ServiceTitanAction, StJobRecord, StJobStatus, StLifecycleResult } from './types';

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
