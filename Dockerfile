# The sharemount worker for docker-compose.yml (and any container platform). It serves the general queue
# (EFS through SSM, doctor). LXC work must run on each Proxmox node itself: run `sharemount worker --lxc`
# there (it touches the node's own /etc/pve and volumes), not in this container.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json temporal-version.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/temporal-version.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
ENTRYPOINT ["node", "bin/sharemount"]
CMD ["worker"]
