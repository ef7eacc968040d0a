# syntax=docker/dockerfile:1
# One image for every role: APP_MODE=api|worker|all, the migration step and the provider sandbox.
#   docker build -t tradeengage/integration-service .
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, TypeScript -> dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Scarf (a transitive postinstall) phones home by default.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# --- runtime: production dependencies and the compiled output only ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/src (the service, dist/src/database/migrate.js, dist/src/sandbox/main.js) and dist/migrations.
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the service (it never writes to its own tree).
USER node
EXPOSE 3000
# Liveness only (no dependency checks); node's fetch because the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/api/health/live`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly, not npm, so SIGTERM reaches the process and the shutdown hooks drain the workers.
CMD ["node", "dist/src/main.js"]
