# Images for docker-compose.yml (and any container platform):
#   target worker (the default): the sharemount worker for the general queue (EFS through SSM, doctor). LXC work
#     must run on each Proxmox node itself: run `sharemount worker --lxc` there (it touches the node's own
#     /etc/pve and volumes), not in this container.
#   target server: `sharemount server`, the real Temporal server and its UI, built by the same
#     scripts/setup-cluster.js that `npm run setup:cluster` runs outside Docker.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json temporal-version.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM golang:1.25-bookworm AS temporal-server
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY temporal-version.json ./
COPY scripts/setup-temporal.js scripts/setup-cluster.js ./scripts/
RUN node scripts/setup-cluster.js

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/temporal-version.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY deploy ./deploy
USER node
ENTRYPOINT ["node", "bin/sharemount"]

FROM runtime AS server
COPY --from=temporal-server /app/.tools/temporal-server ./.tools/temporal-server
CMD ["server", "--ip", "0.0.0.0"]

FROM runtime AS worker
CMD ["worker"]
