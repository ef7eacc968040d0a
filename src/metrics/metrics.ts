import { makeCounterProvider } from '@willsoto/nestjs-prometheus';

/** Every metric is defined here once; names are part of the contract (SPEC section 8). */
export const METRIC = {
  jobsCreated: 'jobs_created_total',
} as const;

export const METRIC_PROVIDERS = [
  makeCounterProvider({ name: METRIC.jobsCreated, help: 'Referral jobs created through the API' }),
];
