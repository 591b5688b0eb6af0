# Huinong API image: `docker build -t huinong .`, then for example
#   docker run -d --name huinong -p 3000:3000 -v huinong-data:/data --env-file huinong.env huinong
# where huinong.env holds NODE_ENV=production's secrets (JWT_SECRET, PII_ENC_KEY, PII_HASH_KEY, …)
# and DATABASE_URL when a PostgreSQL server is used. `docker stop` sends SIGTERM to the server
# itself (node is PID 1, no shell or npm in between; it handles SIGTERM): it drains and exits 0 within 10 s.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000 HOST=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY db ./db
COPY scripts ./scripts
COPY public ./public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:3000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/server.ts"]
