# One image for every role; docker-compose.yml picks the role with --role.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Outside the container the dashboard is reached through its published port, not on loopback.
ENV WSS_DASHBOARD_BIND=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# WSS_DATA_DIR (.data) must be writable: a generated dashboard password is written there.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# A 4 MB young generation: measured faster and ~30 MB smaller per process (docs/performance.md).
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/cli.js"]
CMD ["start"]
