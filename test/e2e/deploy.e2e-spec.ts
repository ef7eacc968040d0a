import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { register } from 'prom-client';
import * as ts from 'typescript';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { z } from 'zod/v4';

import { AppConfig } from '../../src/config/app-config';
import { APP_MODES, AppMode } from '../../src/config/app-mode';
import { envSchema } from '../../src/config/env';
import { METRIC } from '../../src/metrics/metrics';
import { TestApp, startTestApp } from '../helpers/app';
import { apiClient } from '../helpers/http';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../test-env';

// The deployment files are checked against the code they deploy: the config schema, the routes the
// app serves in each mode, the metrics it exposes and the files the build emits.

const ROOT = resolve(__dirname, '../..');
const K8S_DIR = join(ROOT, 'deploy/k8s');
const DASHBOARD_FILE = join(ROOT, 'deploy/grafana/tradeengage-dashboard.json');

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: any;
};
type Container = {
  name: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: any }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  [key: string]: any;
};
type Probe = { httpGet?: { path: string; port: string | number } };

function loadManifests(): { file: string; doc: Manifest }[] {
  return readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
        return { file, doc: d.toJS() as Manifest };
      }),
    )
    .filter(({ doc }) => doc); // an empty document after a trailing ---
}

/** Every variable the config schema knows (a zod object; its refinements live on the object itself). */
function envShape(): Record<string, z.ZodType> {
  return envSchema().shape as Record<string, z.ZodType>;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// PromQL: the metric names a query selects (enough of the grammar for a dashboard).
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);
function promqlMetrics(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(GROUPING, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0])) continue; // a function or an aggregation
    names.add(m[0]);
  }
  return [...names];
}
function promqlLabels(expr: string): string[] {
  const labels = new Set<string>();
  for (const [, , list] of expr.matchAll(GROUPING)) list.split(',').forEach((l) => l.trim() && labels.add(l.trim()));
  for (const [, matchers] of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\{([^}]*)\}/g)) {
    for (const [, name] of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(name);
  }
  return [...labels];
}

/** `# TYPE` lines of a Prometheus text exposition → the series names that can be queried, with their type. */
function exposedSeries(text: string): Map<string, string> {
  const series = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    series.set(name, type);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) series.set(name + suffix, 'histogram' + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) series.set(name + suffix, 'summary' + suffix);
  }
  return series;
}

const manifests = loadManifests();
const ofKind = (kind: string) => manifests.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
const byName = (kind: string, name: string) => ofKind(kind).find((d) => d.metadata.name === name);
const deployments = ofKind('Deployment');
const workloads = [...deployments, ...ofKind('Job')];
const containersOf = (w: Manifest): Container[] => w.spec.template.spec.containers;
const allContainers = workloads.flatMap((w) => containersOf(w).map((c) => ({ workload: w, container: c })));
const shape = envShape();

/** Every variable a container gets, with its literal value where the manifests say it (secrets: undefined). */
function containerEnv(c: Container): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = byName('ConfigMap', from.configMapRef.name);
      if (!cm) throw new Error(`ConfigMap ${from.configMapRef.name} is not in deploy/k8s`);
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(k, String(v));
    }
    if (from.secretRef) {
      const secret = byName('Secret', from.secretRef.name);
      if (!secret) throw new Error(`Secret ${from.secretRef.name} has no template in deploy/k8s`);
      for (const k of Object.keys({ ...secret.data, ...secret.stringData })) env.set(k, undefined);
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = byName('Secret', ref.name);
      expect({
        env: e.name,
        secretKey: ref.key,
        inTemplate: Boolean(secret && ref.key in { ...secret.data, ...secret.stringData }),
      }).toEqual({
        env: e.name,
        secretKey: ref.key,
        inTemplate: true,
      });
      env.set(e.name, undefined);
    } else if (e.valueFrom?.configMapKeyRef) {
      env.set(e.name, byName('ConfigMap', e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key]);
    } else {
      env.set(e.name, e.value === undefined ? undefined : String(e.value)); // env wins over envFrom, as in Kubernetes
    }
  }
  return env;
}

/** The PORT the app will listen on in this container: its env, or the schema's default. */
function listenPort(c: Container): number {
  return Number(shape.PORT.parse(containerEnv(c).get('PORT')));
}

function modeOf(c: Container): AppMode {
  return shape.APP_MODE.parse(containerEnv(c).get('APP_MODE')) as AppMode;
}

function containerPort(c: Container, port: string | number): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

function probesOf(c: Container): [string, Probe][] {
  return (['startupProbe', 'livenessProbe', 'readinessProbe'] as const)
    .filter((p) => c[p])
    .map((p) => [p, c[p] as Probe]);
}

describe('Kubernetes manifests - deploy/k8s', () => {
  it('parses every manifest, and kustomization.yaml lists each of them but the Secret template', () => {
    const kustomization = parseAllDocuments(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'))[0].toJS();
    const files = [...new Set(manifests.map((m) => m.file))];
    expect(kustomization.resources.slice().sort()).toEqual(files.filter((f) => !f.includes('.example.')).sort());
    for (const { doc } of manifests)
      expect(doc).toEqual(expect.objectContaining({ apiVersion: expect.any(String), kind: expect.any(String) }));
    expect(kustomization.images).toContainEqual(expect.objectContaining({ name: 'tradeengage/integration-service' }));
    for (const { container } of allContainers)
      expect(container.image.split(':')[0]).toBe('tradeengage/integration-service');
  });

  it('has the pieces a deployment needs', () => {
    expect(ofKind('ConfigMap')).toHaveLength(1);
    expect(ofKind('Secret')).toHaveLength(1);
    expect(
      deployments
        .map((d) => containersOf(d).map(modeOf))
        .flat()
        .sort(),
    ).toEqual(['api', 'worker']);
    expect(ofKind('Job')).toHaveLength(1);
    for (const kind of ['Service', 'HorizontalPodAutoscaler', 'ServiceMonitor', 'PodDisruptionBudget'])
      expect({ kind, count: ofKind(kind).length > 0 }).toEqual({ kind, count: true });
  });

  it('uses only environment variables the config schema (src/config/env.ts) defines', () => {
    const known = new Set(Object.keys(shape));
    const used = [
      ...ofKind('ConfigMap').flatMap((cm) =>
        Object.keys(cm.data ?? {}).map((name) => ({ where: `ConfigMap ${cm.metadata.name}`, name })),
      ),
      ...ofKind('Secret').flatMap((s) =>
        Object.keys({ ...s.data, ...s.stringData }).map((name) => ({ where: `Secret ${s.metadata.name}`, name })),
      ),
      ...allContainers.flatMap(({ workload, container }) =>
        [...containerEnv(container).keys()].map((name) => ({
          where: `${workload.kind} ${workload.metadata.name}`,
          name,
        })),
      ),
    ];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((u) => !known.has(u.name))).toEqual([]);
  });

  it('gives every non-secret variable a value the schema accepts, and a valid APP_MODE to each Deployment', () => {
    const invalid: { where: string; name: string; value: string; error: string }[] = [];
    const check = (where: string, name: string, value: string | undefined) => {
      if (value === undefined || !shape[name]) return;
      const result = shape[name].safeParse(value);
      if (!result.success) invalid.push({ where, name, value, error: result.error.issues[0].message });
    };
    for (const cm of ofKind('ConfigMap'))
      for (const [k, v] of Object.entries(cm.data ?? {})) check(`ConfigMap ${cm.metadata.name}`, k, String(v));
    for (const { workload, container } of allContainers)
      for (const [k, v] of containerEnv(container)) check(workload.metadata.name, k, v);
    expect(invalid).toEqual([]);

    for (const d of deployments) {
      for (const c of containersOf(d)) {
        // Set explicitly: the schema's default (`all`) would run API and worker in one pod.
        expect({ deployment: d.metadata.name, APP_MODE: containerEnv(c).get('APP_MODE') }).toEqual({
          deployment: d.metadata.name,
          APP_MODE: expect.stringMatching(new RegExp(`^(${APP_MODES.filter((m) => m !== 'all').join('|')})$`)),
        });
      }
    }
  });

  it('gives each production container every variable production requires, and a configuration that boots', () => {
    // What the schema demands in production, read from the schema itself.
    const parsed = envSchema().safeParse({ NODE_ENV: 'production' });
    const requiredInProduction = parsed.success ? [] : [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
    expect(requiredInProduction.length).toBeGreaterThan(0);

    // Valid stand-ins for the Secret's placeholders, so the rest of each container's configuration is checked as the app reads it.
    const standIns: Record<string, string> = {
      ADMIN_API_KEY: 'k8s-manifest-test-admin-key-0123456789',
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      SERVICETITAN_APP_KEY: 'k8s-manifest-test-app-key',
    };
    for (const { workload, container } of allContainers) {
      const env = containerEnv(container);
      expect({ workload: workload.metadata.name, NODE_ENV: env.get('NODE_ENV') }).toEqual({
        workload: workload.metadata.name,
        NODE_ENV: 'production',
      });
      expect({
        workload: workload.metadata.name,
        missing: requiredInProduction.filter((name) => !env.has(name)),
      }).toEqual({
        workload: workload.metadata.name,
        missing: [],
      });
      const vars = Object.fromEntries([...env].map(([k, v]) => [k, v ?? standIns[k]]));
      const config = AppConfig.from(vars);
      // Production pods talk to the real providers, and migrations are the Job's business, not the pods'.
      expect({
        workload: workload.metadata.name,
        sandbox: config.sandbox,
        runMigrations: config.runMigrations,
        production: config.production,
      }).toEqual({
        workload: workload.metadata.name,
        sandbox: false,
        runMigrations: false,
        production: true,
      });
    }
  });

  it('exposes the port the app listens on (PORT) as `http`, and points every probe at it', () => {
    for (const d of deployments) {
      for (const c of containersOf(d)) {
        const port = listenPort(c);
        expect({ container: c.name, http: containerPort(c, 'http') }).toEqual({ container: c.name, http: port });
        const probes = probesOf(c);
        expect(probes.map(([kind]) => kind).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
        for (const [kind, probe] of probes) {
          expect({ container: c.name, kind, port: probe.httpGet && containerPort(c, probe.httpGet.port) }).toEqual({
            container: c.name,
            kind,
            port,
          });
        }
      }
    }
  });

  it('routes each Service to the pods of one Deployment on their `http` port', () => {
    const services = ofKind('Service');
    for (const svc of services) {
      const targets = deployments.filter((d) => matches(svc.spec.selector, d.spec.template.metadata.labels));
      expect({ service: svc.metadata.name, deployments: targets.length }).toEqual({
        service: svc.metadata.name,
        deployments: 1,
      });
      for (const p of svc.spec.ports) {
        for (const c of containersOf(targets[0])) {
          expect({
            service: svc.metadata.name,
            port: p.name,
            target: containerPort(c, p.targetPort ?? p.port),
          }).toEqual({
            service: svc.metadata.name,
            port: p.name,
            target: listenPort(c),
          });
        }
      }
    }
    const api = deployments.find((d) => containersOf(d).some((c) => modeOf(c) === 'api'));
    expect(services.some((s) => api && matches(s.spec.selector, api.spec.template.metadata.labels))).toBe(true);
  });

  it('keeps pods non-root with a read-only root filesystem, bounded resources and a grace period to drain', () => {
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect({ workload: w.metadata.name, runAsNonRoot: pod.securityContext?.runAsNonRoot }).toEqual({
        workload: w.metadata.name,
        runAsNonRoot: true,
      });
      for (const c of containersOf(w)) {
        expect({ container: c.name, securityContext: c.securityContext }).toEqual({
          container: c.name,
          securityContext: expect.objectContaining({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }),
        });
        for (const kind of ['requests', 'limits']) {
          expect({ container: c.name, kind, resources: c.resources?.[kind] }).toEqual({
            container: c.name,
            kind,
            resources: expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
          });
        }
      }
    }
    // The process exits by itself within SHUTDOWN_TIMEOUT_MS of SIGTERM (after the preStop pause), before
    // the kubelet would SIGKILL it at the end of the grace period.
    const setting = (c: Container, name: 'SHUTDOWN_TIMEOUT_MS' | 'PROVIDER_TIMEOUT_MS') =>
      Number(shape[name].parse(containerEnv(c).get(name)));
    for (const d of deployments) {
      for (const c of containersOf(d)) {
        const preStopMs = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
        const graceMs = (d.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        expect({ container: c.name, exitsBeforeKill: preStopMs + setting(c, 'SHUTDOWN_TIMEOUT_MS') < graceMs }).toEqual(
          {
            container: c.name,
            exitsBeforeKill: true,
          },
        );
      }
    }
    // A worker's drain lets a sync attempt in its second provider request finish.
    const worker = deployments.flatMap(containersOf).find((c) => modeOf(c) === 'worker')!;
    expect(setting(worker, 'SHUTDOWN_TIMEOUT_MS')).toBeGreaterThan(2 * setting(worker, 'PROVIDER_TIMEOUT_MS'));
  });

  it('autoscales every Deployment on CPU and keeps a PodDisruptionBudget that still lets nodes drain', () => {
    const hpas = ofKind('HorizontalPodAutoscaler');
    for (const d of deployments) {
      const hpa = hpas.find(
        (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === d.metadata.name,
      );
      expect({ deployment: d.metadata.name, apiVersion: hpa?.apiVersion }).toEqual({
        deployment: d.metadata.name,
        apiVersion: 'autoscaling/v2',
      });
      expect(hpa!.spec.metrics).toContainEqual(
        expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
      );
      const pdb = ofKind('PodDisruptionBudget').find((p) =>
        matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels),
      );
      expect({ deployment: d.metadata.name, pdb: Boolean(pdb) }).toEqual({ deployment: d.metadata.name, pdb: true });
      expect(pdb!.spec.minAvailable).toBeLessThan(hpa!.spec.minReplicas);
    }
  });

  it('has a ServiceMonitor scraping /metrics on the `http` port of the API and the worker Services', () => {
    const [monitor] = ofKind('ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    const selected = ofKind('Service').filter((svc) => {
      const labels = svc.metadata.labels ?? {};
      const { matchLabels = {}, matchExpressions = [] } = monitor.spec.selector;
      return (
        matches(matchLabels, labels) &&
        matchExpressions.every(
          (e: { key: string; operator: string; values: string[] }) =>
            e.operator === 'In' && e.values.includes(labels[e.key]),
        )
      );
    });
    const modes = selected.flatMap((svc) =>
      deployments
        .filter((d) => matches(svc.spec.selector, d.spec.template.metadata.labels))
        .flatMap(containersOf)
        .map(modeOf),
    );
    expect(modes.sort()).toEqual(['api', 'worker']);
    for (const endpoint of monitor.spec.endpoints) {
      expect(endpoint).toMatchObject({ port: 'http', path: '/metrics' });
      for (const svc of selected) expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    }
  });

  it('runs files the build emits: the migration Job runs src/database/migrate.ts as compiled by `npm run build`', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const build = /\btsc\b(?:.*?(?:-p|--project)\s+(\S+))?/.exec(pkg.scripts.build);
    expect(build).not.toBeNull();
    const tsconfigFile = resolve(ROOT, build![1] ?? 'tsconfig.json');
    const read = ts.readConfigFile(tsconfigFile, ts.sys.readFile);
    const tsconfig = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfigFile), undefined, tsconfigFile);
    expect(tsconfig.errors).toEqual([]);
    const emitted = new Map<string, string>(); // output .js → source .ts
    for (const source of tsconfig.fileNames) {
      for (const output of ts.getOutputFileNames(tsconfig, source, false))
        if (output.endsWith('.js')) emitted.set(resolve(output), resolve(source));
    }

    const runs = allContainers.map(({ workload, container }) => {
      const command = [...(container.command ?? []), ...(container.args ?? [])];
      expect({ workload: workload.metadata.name, command: command.slice(0, 1) }).toEqual({
        workload: workload.metadata.name,
        command: ['node'],
      });
      const output = resolve(ROOT, command[1]); // the image's WORKDIR is the project root
      const source = emitted.get(output);
      expect({ workload: workload.metadata.name, file: command[1], source: source && existsSync(source) }).toEqual({
        workload: workload.metadata.name,
        file: command[1],
        source: true,
      });
      // Inside the build's outDir, like every emitted file.
      expect(relative(tsconfig.options.outDir!, output).startsWith('..')).toBe(false);
      return { kind: workload.kind, source: relative(ROOT, source!) };
    });
    expect(runs.filter((r) => r.kind === 'Job').map((r) => r.source)).toEqual(['src/database/migrate.ts']);
    expect(runs.filter((r) => r.kind === 'Deployment').map((r) => r.source)).toEqual(['src/main.ts', 'src/main.ts']);
    // The same file `npm run migration:run` and `npm start` run.
    const job = allContainers.find(({ workload }) => workload.kind === 'Job')!.container;
    expect(pkg.scripts['migration:run']).toContain(`node ${job.command![1]}`);
    expect(pkg.scripts.start).toContain(`node ${containersOf(deployments[0])[0].command![1]}`);
  });
});

// Boots the app in each mode a Deployment uses and asks it what the probes and the ServiceMonitor ask.
const podModes = [...new Set(deployments.flatMap(containersOf).map(modeOf))];
describe.each(podModes)('probes and /metrics - APP_MODE=%s', (mode) => {
  let t: TestApp;
  const containers = deployments.flatMap(containersOf).filter((c) => modeOf(c) === mode);

  beforeAll(async () => {
    t = await startTestApp({}, mode);
  });
  afterAll(() => t?.close());

  it.each(containers.flatMap((c) => probesOf(c).map(([kind, probe]) => [kind, probe.httpGet!.path] as const)))(
    '%s GET %s answers 200',
    async (_, path) => {
      const res = await apiClient(t.url).get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.body).toMatchObject({ status: 'ok' });
    },
  );

  it.each(ofKind('ServiceMonitor').flatMap((m) => m.spec.endpoints.map((e: { path: string }) => e.path)))(
    'the ServiceMonitor path %s answers Prometheus text',
    async (path) => {
      const res = await apiClient(t.url).get<string>(path);
      expect(res.status).toBe(200);
      expect(res.contentType).toMatch(/^text\/plain/);
      expect(res.contentType).toContain('version=0.0.4');
      const text = res.body;
      const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(lines.length).toBeGreaterThan(10);
      expect(
        lines.filter((l) => !/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? ([-+0-9.eE]+|NaN|[+-]Inf)( \d+)?$/.test(l)),
      ).toEqual([]);
      expect(exposedSeries(text).size).toBeGreaterThan(10);
    },
  );
});

describe('Grafana dashboard - deploy/grafana/tradeengage-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
  const panels: any[] = dashboard.panels
    .flatMap((p: any) => [p, ...(p.panels ?? [])])
    .filter((p: any) => p.type !== 'row');
  const queries: { panel: string; expr: string }[] = panels.flatMap((p) =>
    (p.targets ?? []).map((t: any) => ({ panel: p.title, expr: t.expr })),
  );
  let t: TestApp;
  let series: Map<string, string>;
  let exposition: string;

  beforeAll(async () => {
    t = await startTestApp({}, 'all');
    exposition = (await apiClient(t.url).get<string>('/metrics')).body;
    series = exposedSeries(exposition);
  });
  afterAll(() => t?.close());

  it('takes its Prometheus datasource from a template variable', () => {
    const variable = dashboard.templating.list.find((v: any) => v.type === 'datasource');
    expect(variable).toMatchObject({ query: 'prometheus' });
    for (const p of panels) {
      for (const target of [p, ...(p.targets ?? [])])
        expect({ panel: p.title, uid: target.datasource?.uid }).toEqual({
          panel: p.title,
          uid: `\${${variable.name}}`,
        });
    }
    expect(queries.length).toBeGreaterThan(10);
  });

  it('queries only series the app exposes on /metrics', () => {
    const missing = queries.flatMap(({ panel, expr }) =>
      promqlMetrics(expr)
        .filter((m) => !series.has(m))
        .map((metric) => ({ panel, metric })),
    );
    expect(missing).toEqual([]);
  });

  it('charts every metric defined in src/metrics/metrics.ts, and the process CPU, memory and event loop lag', () => {
    const queried = new Set(queries.flatMap(({ expr }) => promqlMetrics(expr)));
    const charted = (name: string) =>
      queried.has(name) || ['_bucket', '_sum', '_count'].some((s) => queried.has(name + s));
    const wanted = [
      ...Object.values(METRIC),
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ];
    expect(wanted.filter((name) => !charted(name))).toEqual([]);
  });

  it('uses rate/increase on counters only, and histogram_quantile on `_bucket` series grouped by `le`', () => {
    for (const { panel, expr } of queries) {
      for (const [, inner] of expr.matchAll(/\b(?:rate|increase|irate)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
        expect({ panel, inner, type: series.get(inner) }).toEqual({
          panel,
          inner,
          type: expect.stringMatching(/^(counter|histogram_bucket|histogram_sum|histogram_count)$/),
        });
      }
      if (!expr.includes('histogram_quantile')) continue;
      const metrics = promqlMetrics(expr);
      expect({ panel, metrics }).toEqual({ panel, metrics: [expect.stringMatching(/_bucket$/)] });
      expect(series.get(metrics[0])).toBe('histogram_bucket');
      expect(expr).toMatch(/by \((le\b|[^)]*,\s*le\b)/);
    }
  });

  it('filters on label values the app reports: every gauge selector matches a series of the scrape', () => {
    // Gauges report all their series on every scrape (counters only once something happened).
    const selectors = queries.flatMap(({ panel, expr }) =>
      [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].flatMap(([, metric, matchers]) =>
        [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"/g)].map(([, label, value]) => ({
          panel,
          metric,
          label,
          value,
        })),
      ),
    );
    const gaugeSelectors = selectors.filter((s) => series.get(s.metric) === 'gauge');
    expect(gaugeSelectors.map((s) => s.metric)).toEqual(expect.arrayContaining([METRIC.routings, METRIC.queueJobs]));
    for (const s of gaugeSelectors) {
      const sample = new RegExp(`^${s.metric}\\{[^}]*\\b${s.label}="${s.value}"`, 'm');
      expect({ ...s, inScrape: sample.test(exposition) }).toEqual({ ...s, inScrape: true });
    }
  });

  it('groups and filters only by labels the queried metrics carry', () => {
    const labelNames = (name: string): string[] => {
      const metric =
        register.getSingleMetric(name.replace(/_(bucket|sum|count)$/, '')) ?? register.getSingleMetric(name);
      return (metric as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    };
    const TARGET_LABELS = ['instance', 'job', 'namespace', 'pod', 'service'];
    for (const { panel, expr } of queries) {
      const metrics = promqlMetrics(expr);
      const allowed = new Set([
        ...TARGET_LABELS,
        ...metrics.flatMap(labelNames),
        ...(metrics.some((m) => m.endsWith('_bucket')) ? ['le'] : []),
      ]);
      expect({ panel, unknown: promqlLabels(expr).filter((l) => !allowed.has(l)) }).toEqual({ panel, unknown: [] });
    }
  });
});

describe('Node.js runtime - Dockerfile, engines, CI', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const ranges: string[] = pkg.engines.node.split('||').map((r: string) => r.trim());
  const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const ciNode = /^VERSION=(\d+)\.(\d+)\.\d+$/m.exec(readFileSync(join(ROOT, 'scripts/node24.sh'), 'utf8'));

  it('builds the image on the Node major CI tests (scripts/node24.sh), an even (LTS) one that engines admits', () => {
    expect(image?.[1]).toBeDefined();
    expect(image![1]).toBe(ciNode?.[1]);
    expect(Number(image![1]) % 2).toBe(0);
    const range = ranges.find((r) => r.startsWith(`^${image![1]}.`));
    expect({ range, ciMinorAtLeast: Number(ciNode![2]) >= Number(range?.split('.')[1]) }).toEqual({
      range: expect.any(String),
      ciMinorAtLeast: true,
    });
  });

  it('admits the Node the tests run on', () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    const admitted = ranges.some((r) => {
      const [m, n] = r.replace('^', '').split('.').map(Number);
      return major === m && minor >= n;
    });
    expect({ node: process.version, admitted }).toEqual({ node: process.version, admitted: true });
  });
});

const ALERTS_FILE = join(ROOT, 'deploy/prometheus/alerts.yaml');
const ALERT_TESTS_FILE = join(ROOT, 'deploy/prometheus/alerts.test.yaml');
const README_FILE = join(ROOT, 'README.md');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('Alerts - deploy/prometheus/alerts.yaml', () => {
  const rulesFile = parseYaml(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  const rules = rulesFile.groups.flatMap((g) => g.rules);
  // Metrics the rules may use that the app does not expose: Prometheus's own, and SPEC section 8's
  // outbound webhook counter, which arrives with the outbound webhooks.
  const NOT_FROM_THE_APP = new Set(['up', 'webhook_deliveries_total']);
  let t: TestApp;
  let series: Map<string, string>;

  beforeAll(async () => {
    t = await startTestApp({}, 'all');
    series = exposedSeries(await (await fetch(`${t.url}/metrics`)).text());
  });
  afterAll(() => t?.close());

  it.each([
    ['check', ALERTS_FILE],
    ['test', ALERT_TESTS_FILE],
  ])('passes `promtool %s rules`', (command, file) => {
    const run = spawnSync('promtool', [command, 'rules', file], { encoding: 'utf8' });
    if (run.error) {
      throw new Error(`promtool is missing: install Debian's prometheus package (apt-get install -y prometheus)`);
    }
    expect({ status: run.status, output: run.status ? `${run.stdout}${run.stderr}` : '' }).toEqual({
      status: 0,
      output: '',
    });
  });

  it('has the alerts SPEC section 8 asks for, on the metrics that show each problem', () => {
    const byName = new Map(rules.map((r) => [r.alert, r.expr]));
    const wanted: [string, RegExp][] = [
      ['TradeEngageWorkerDown', /\bup\{job="integration-service-worker"\}/],
      ['TradeEngageNoWorkers', /\bqueue_workers\b/],
      ['TradeEngageQueueBacklogDeep', /\bqueue_jobs\{state="waiting"\}/],
      ['TradeEngageQueueBacklogOld', /\bqueue_oldest_job_age_seconds\b/],
      ['TradeEngageSyncErrorRate', /\brouting_sync_total\{outcome=~"retry\|failed"\}/],
      ['TradeEngageSyncSlow', /histogram_quantile\(0\.95, .*routing_sync_duration_seconds_bucket/],
      ['TradeEngageProviderCircuitOpen', /\bprovider_circuit_open\b/],
      ['TradeEngageWebhookDeliveriesFailing', /\bwebhook_deliveries_total\b/],
    ];
    for (const [alert, expr] of wanted)
      expect({ alert, expr: byName.get(alert) }).toEqual({ alert, expr: expect.stringMatching(expr) });
  });

  it('gives every alert a severity, a summary, a description and a runbook that is a section of the README', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    const sections = new Map<string, string>();
    const headings = [...readme.matchAll(/^#{1,6} (.+)$/gm)];
    headings.forEach((h, i) =>
      sections.set(
        slug(h[1]),
        readme.slice((h.index ?? 0) + h[0].length, headings[i + 1]?.index ?? readme.length).trim(),
      ),
    );
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
      const { summary, description, runbook } = rule.annotations ?? {};
      expect({ alert: rule.alert, summary, description }).toEqual({
        alert: rule.alert,
        summary: expect.any(String),
        description: expect.any(String),
      });
      const anchor = /^README\.md#([\w-]+)$/.exec(runbook ?? '')?.[1];
      // The section exists and says something (what to do), not just a heading.
      expect({ alert: rule.alert, runbook, section: (sections.get(anchor ?? '') ?? '').length > 80 }).toEqual({
        alert: rule.alert,
        runbook,
        section: true,
      });
    }
  });

  it('queries only metrics and labels the app exposes (or SPEC section 8 names for a later feature)', () => {
    const labelNames = (name: string): string[] => {
      const metric =
        register.getSingleMetric(name.replace(/_(bucket|sum|count)$/, '')) ?? register.getSingleMetric(name);
      return (metric as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    };
    for (const rule of rules) {
      const metrics = promqlMetrics(rule.expr);
      expect({ alert: rule.alert, missing: metrics.filter((m) => !series.has(m) && !NOT_FROM_THE_APP.has(m)) }).toEqual(
        {
          alert: rule.alert,
          missing: [],
        },
      );
      if (metrics.some((m) => NOT_FROM_THE_APP.has(m))) continue;
      const allowed = new Set([
        'instance',
        'job',
        'namespace',
        'pod',
        'service',
        ...metrics.flatMap(labelNames),
        ...(metrics.some((m) => m.endsWith('_bucket')) ? ['le'] : []),
      ]);
      expect({ alert: rule.alert, unknown: promqlLabels(rule.expr).filter((l) => !allowed.has(l)) }).toEqual({
        alert: rule.alert,
        unknown: [],
      });
    }
  });

  it('fires every alert at least once in its unit tests (alerts.test.yaml)', () => {
    const tests = parseYaml(readFileSync(ALERT_TESTS_FILE, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((test) =>
        (test.alert_rule_test ?? []).filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
      ),
    );
    expect(rules.map((r) => r.alert).filter((name) => !fired.has(name))).toEqual([]);
  });

  it('is the PrometheusRule of deploy/k8s, rule for rule (the Prometheus Operator wrapper)', () => {
    const [wrapper] = ofKind('PrometheusRule');
    expect(wrapper.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(wrapper.spec.groups).toEqual(rulesFile.groups);
  });
});
