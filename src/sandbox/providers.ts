import { housecallProSandbox } from './housecallpro/housecallpro.sandbox';
import { jobberSandbox } from './jobber/jobber.sandbox';
import type { SandboxProviderDefinition } from './sandbox-provider';
import { serviceTitanSandbox } from './servicetitan/servicetitan.sandbox';

/** Every provider the sandbox serves: one line each. */
export const SANDBOX_PROVIDERS = [serviceTitanSandbox, housecallProSandbox, jobberSandbox] as const;

type Registered = (typeof SANDBOX_PROVIDERS)[number];

/** Names of the registered providers ('servicetitan' | 'housecallpro' | …). */
export type SandboxProvider = Registered['name'];

/** GET /_sandbox/records: each provider's records under its name (only the one asked for with ?provider=). */
export type SandboxRecords = {
  [D in Registered as D['name']]?: D extends SandboxProviderDefinition<string, infer R> ? R : never;
};
