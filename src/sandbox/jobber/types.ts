/** Jobber shapes shared by the sandbox and its control client (providers.md section 3). */

/** Values of the 2022-03-10 schema's enums that the sandbox moves records through. */
export type JobberRequestStatus = 'new' | 'converted' | 'archived';
export type JobberJobStatus = 'upcoming' | 'today' | 'active' | 'on_hold' | 'requires_invoicing' | 'archived';
export type JobberVisitStatus = 'UPCOMING' | 'TODAY' | 'ACTIVE' | 'COMPLETED';

/** Control-API moves of a request (POST /_sandbox/jobber/requests/{id}/{action}). */
export type JobberAction = 'convert' | 'schedule' | 'start' | 'hold' | 'complete' | 'archive';
export const JOBBER_ACTIONS: readonly JobberAction[] = ['convert', 'schedule', 'start', 'hold', 'complete', 'archive'];

export interface JobberSettings {
  /** Access token lifetime; Jobber's default is 60 minutes. */
  accessTokenTtlSeconds: number;
  /** Authorization codes are single-use and expire after this. */
  authorizationCodeTtlSeconds: number;
  /** Query-cost leaky bucket per account (providers.md 3.4). */
  maximumAvailable: number;
  restoreRate: number;
  /**
   * How GET /api/oauth/authorize answers: approve at once (into `accountId`, or a new account when
   * null), or deny (redirect with error=access_denied).
   */
  authorize: { approve: boolean; accountId: string | null };
}

export type JobberSettingsUpdate = Partial<Omit<JobberSettings, 'authorize'>> & {
  authorize?: Partial<JobberSettings['authorize']>;
};

export interface JobberAppRegistration {
  clientId: string;
  clientSecret: string;
}

export interface JobberApp {
  clientId: string;
  /** Jobber's webhook appId: the EncodedId of the application. */
  appId: string;
  webhookUrl: string | null;
}

/** One authorization (an OAuth connect) of an app to an account: its rotating refresh-token chain. */
export interface JobberGrantView {
  grantId: string;
  clientId: string;
  accountId: string;
  createdAt: string;
  revoked: boolean;
  /** Successful refresh_token grants. */
  refreshes: number;
  /** refresh_token grants with a token of this chain that was already rotated out (a reuse). */
  refreshTokenReuses: number;
}

export interface JobberAccountView {
  /** EncodedId of the Account (what webhooks carry as accountId). */
  id: string;
  name: string;
  /** The id of the account's request form, needed in requestCreate's customFormInput.formId. */
  requestFormId: string;
  grants: JobberGrantView[];
  refreshes: number;
  refreshTokenReuses: number;
  /** Refresh attempts with a token never issued, revoked or of another app. */
  invalidRefreshAttempts: number;
  throttle: { currentlyAvailable: number; maximumAvailable: number; restoreRate: number };
  throttled: number;
  /** Query-cost points spent in all (actualQueryCost summed). */
  pointsSpent: number;
  /** userErrors queued for the next mutations (POST …/accounts/{id}/user-errors). */
  pendingUserErrors: string[];
}

export interface JobberClientRecord {
  id: string;
  accountId: string;
  firstName: string;
  lastName: string;
  companyName: string | null;
  isCompany: boolean;
  title: string | null;
  phones: { id: string; number: string; description: string; primary: boolean; smsAllowed: boolean }[];
  emails: { id: string; address: string; description: string; primary: boolean }[];
  propertyIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface JobberPropertyRecord {
  id: string;
  clientId: string;
  street1: string;
  street2: string;
  city: string;
  province: string;
  postalCode: string;
  country: string;
}

export interface JobberRequestRecord {
  id: string;
  accountId: string;
  clientId: string;
  propertyId: string | null;
  title: string | null;
  requestStatus: JobberRequestStatus;
  source: string;
  formId: string;
  createdAt: string;
  updatedAt: string;
  jobIds: string[];
}

export interface JobberVisitRecord {
  id: string;
  jobId: string;
  title: string | null;
  startAt: string | null;
  endAt: string | null;
  completedAt: string | null;
  visitStatus: JobberVisitStatus;
  createdAt: string;
}

export interface JobberJobRecord {
  id: string;
  accountId: string;
  requestId: string | null;
  clientId: string;
  propertyId: string | null;
  jobNumber: number;
  title: string | null;
  jobStatus: JobberJobStatus;
  startAt: string | null;
  endAt: string | null;
  completedAt: string | null;
  /** Dollars, as Job.total (Float!). */
  total: number;
  createdAt: string;
  updatedAt: string;
  visitIds: string[];
}

export interface JobberRecords {
  apps: JobberApp[];
  accounts: JobberAccountView[];
  clients: JobberClientRecord[];
  properties: JobberPropertyRecord[];
  requests: JobberRequestRecord[];
  jobs: JobberJobRecord[];
  visits: JobberVisitRecord[];
}

export interface JobberLifecycleResult {
  request: JobberRequestRecord;
  job: JobberJobRecord | null;
  visits: JobberVisitRecord[];
}
