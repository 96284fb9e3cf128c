# convene worker image: build TypeScript in one stage, run the compiled CLI as a non-root user
# in a slim runtime stage with production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" script builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
# npm run build, not tsc alone: it also copies the store's Lua scripts next to the compiled code.
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# convene's own templates (found next to package.json) and the bundled example event.
COPY templates ./templates
COPY events ./events
RUN chmod 755 dist/src/cli.js && ln -s /app/dist/src/cli.js /usr/local/bin/convene \
  && mkdir -p /app/outbox && chown node:node /app/outbox
USER node
# SIGTERM is handled by convene (bounded graceful shutdown, exit 0).
STOPSIGNAL SIGTERM
CMD ["convene", "worker", "events"]
