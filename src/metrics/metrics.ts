import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/** Every metric is defined here once; names are part of the contract (SPEC section 8). */
export const METRIC = {
  jobsCreated: 'jobs_created_total',
  routingSync: 'routing_sync_total',
  routingSyncDuration: 'routing_sync_duration_seconds',
  providerRequests: 'provider_requests_total',
  providerRateLimited: 'provider_rate_limited_total',
  rateLimiterFailOpen: 'provider_rate_limiter_fail_open_total',
  routings: 'routings',
  queueJobs: 'queue_jobs',
  queueOldestJobAge: 'queue_oldest_job_age_seconds',
  queueWorkers: 'queue_workers',
  redisAvailable: 'redis_available',
  sweepRuns: 'sweep_runs_total',
  webhookEventsReceived: 'webhook_events_received_total',
  webhookDeliveries: 'webhook_deliveries_total',
  webhookOutboxPending: 'webhook_outbox_pending',
  circuitOpen: 'provider_circuit_open',
  routingTransitions: 'routing_transitions_total',
  routingProviderStatus: 'routing_provider_status_total',
} as const;

export const METRIC_PROVIDERS = [
  makeCounterProvider({ name: METRIC.jobsCreated, help: 'Referral jobs created through the API' }),
  makeCounterProvider({
    name: METRIC.routingSync,
    help: 'Sync attempts by provider and outcome (synced, retry, failed)',
    labelNames: ['provider', 'outcome'],
  }),
  makeHistogramProvider({
    name: METRIC.routingSyncDuration,
    help: 'Duration of one sync attempt, rate-limit waits included',
    labelNames: ['provider'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  }),
  makeCounterProvider({
    name: METRIC.providerRequests,
    help: 'HTTP requests to providers by status code (or network_error, timeout)',
    labelNames: ['provider', 'status'],
  }),
  makeCounterProvider({
    name: METRIC.providerRateLimited,
    help: 'Provider calls that had to wait for the shared rate limit, or got a 429',
    labelNames: ['provider'],
  }),
  makeCounterProvider({
    name: METRIC.rateLimiterFailOpen,
    help: 'Provider calls let through unthrottled because Redis could not answer',
    labelNames: ['provider'],
  }),
  makeGaugeProvider({
    name: METRIC.routings,
    help: 'Routings by status (read at scrape time)',
    labelNames: ['status'],
  }),
  makeGaugeProvider({
    name: METRIC.queueJobs,
    help: 'Queue jobs by queue and state (read at scrape time)',
    labelNames: ['queue', 'state'],
  }),
  makeGaugeProvider({
    name: METRIC.queueOldestJobAge,
    help: 'Seconds the job ready the longest has waited, per queue (0 when none waits; read at scrape time)',
    labelNames: ['queue'],
  }),
  makeGaugeProvider({
    name: METRIC.queueWorkers,
    help: 'Worker connections consuming each queue, cluster-wide (read at scrape time)',
    labelNames: ['queue'],
  }),
  makeGaugeProvider({
    name: METRIC.redisAvailable,
    help: '1 when this scrape could read the queues from Redis in time, 0 when their series are missing for that reason',
  }),
  makeGaugeProvider({
    name: METRIC.circuitOpen,
    help: 'Provider connections whose circuit breaker is open or half-open (read at scrape time)',
    labelNames: ['provider'],
  }),
  makeCounterProvider({
    name: METRIC.sweepRuns,
    help: 'Sweep runs by name and outcome',
    labelNames: ['name', 'outcome'],
  }),
  makeCounterProvider({
    name: METRIC.routingTransitions,
    help: 'Routings entering a status: created, synced, completed, canceled, permanently_failed, pending (manual retry)',
    labelNames: ['provider', 'to'],
  }),
  makeCounterProvider({
    name: METRIC.routingProviderStatus,
    help: 'Routings whose normalized provider status moved to this one (received, scheduled, in_progress, ...)',
    labelNames: ['provider', 'status'],
  }),
  makeCounterProvider({
    name: METRIC.webhookEventsReceived,
    help: 'Inbound provider webhooks by provider and outcome (accepted, duplicate, ignored, unauthorized, invalid)',
    labelNames: ['provider', 'outcome'],
  }),
  makeCounterProvider({
    name: METRIC.webhookDeliveries,
    help: 'Outbound webhook attempts by outcome (success, http_error, gone, timeout, network_error, refused)',
    labelNames: ['outcome'],
  }),
  makeGaugeProvider({
    name: METRIC.webhookOutboxPending,
    help: 'Outbound webhook events not yet delivered to every endpoint (read at scrape time)',
  }),
];
