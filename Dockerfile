# Tessera's production image: the compiled build (npm run build) on plain Node, as a non-root
# user, without tests, benchmarks or build tools. Build: docker build -t tessera .

# ---- build: install everything, compile TypeScript to dist/, then drop the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY views ./views
COPY locales ./locales
# Embedded mode (no DATABASE_URL) keeps its data here; mount a volume to keep it.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Ready = PostgreSQL, migrations and Redis answer, and not shutting down (see docs/operations.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains in-flight requests within TESSERA_SHUTDOWN_TIMEOUT_S (default 10 s), then exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
