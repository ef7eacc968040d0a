import { toRoutingResponse } from '../routing/routing.mapper';
import { Routing } from '../routing/routing.entity';
import { JobResponse } from './dto/job.response';
import { Job } from './job.entity';

/** A job as the API shows it, with its routings. */
export function toJobResponse(job: Job, routings: Routing[]): JobResponse {
  return {
    id: job.id,
    status: job.status,
    companyId: job.companyId,
    technicianId: job.technicianId,
    homeowner: job.homeowner,
    address: job.address,
    summary: job.summary,
    trade: job.trade,
    unroutedReason: job.unroutedReason,
    revenueCents: job.revenueCents,
    currency: job.currency,
    completedAt: job.completedAt,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    // The same order on create and on read: (createdAt, id).
    routings: [...routings]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
      .map(toRoutingResponse),
  };
}
