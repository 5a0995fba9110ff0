# syntax=docker/dockerfile:1
# Countersign: one image for `start`, `serve` and `worker` (pick one with the command).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json main.ts ./
COPY src ./src
COPY handlers ./handlers
COPY agents ./agents
COPY templates ./templates
# Files next to the templates that are not TypeScript (HTML, CSS, images) travel with the compiled code.
RUN npx tsc -p tsconfig.json \
  && (cd templates && find . -type f ! -name '*.ts' -exec sh -c 'mkdir -p "../dist/templates/$(dirname "$1")" && cp "$1" "../dist/templates/$1"' _ {} \;) \
  && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/templates ./templates
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js", "start"]
