# TokenIM Auth. The first stage compiles the TypeScript sources to JavaScript (`npm run build`, tsc
# into dist/: the server then runs without Node's type stripper, about 28 MB less per process) and
# keeps only the production dependencies; the second carries them, the build, and the sources the
# command line runs.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY views ./views
COPY bin ./bin
COPY src ./src

# Not root: the image's `node` user owns only the data directory.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# SIGTERM drains in-flight requests, closes the stores and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
