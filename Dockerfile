# kube-router (TypeScript): Node 20 runtime plus the kernel tools the drivers run.
# Build: docker build -t ghcr.io/kube-router-ts/kube-router:0.1.0 .
# Run (as the DaemonSet does): node /app/dist/agent/main.js [flags]

# GoBGP v4.8.0 from its Go module (Debian's gobgpd is 3.10: another API, no BFD)
FROM golang:1.26-bookworm AS gobgp
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" \
      github.com/osrg/gobgp/v4/cmd/gobgpd@v4.8.0 github.com/osrg/gobgp/v4/cmd/gobgp@v4.8.0

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are in.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
# iptables (nft and legacy), ipset, ipvsadm, iproute2 (ip, bridge), conntrack; GoBGP v4 from the builder.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ipset ipvsadm iproute2 conntrack ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=gobgp /out/gobgpd /out/gobgp /usr/local/bin/
ENV KRT_GOBGPD=/usr/local/bin/gobgpd
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# node itself is PID 1's child-free main process: SIGTERM reaches the agent directly.
ENTRYPOINT ["node", "/app/dist/agent/main.js"]
