# The Topiq application image. It runs `serve` by default; the worker services of
# docker-compose.yml run the same image with `queue:work --queue=...`.
FROM node:20-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so that changing app code does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Topiq runs its TypeScript sources through tsx (a runtime dependency): no build step.
# Only what the program needs is copied; tests, benches, docs and .env stay out.
COPY tsconfig.json ./
COPY bin ./bin
COPY bootstrap ./bootstrap
COPY config ./config
COPY core ./core
COPY app ./app

USER node
ENTRYPOINT ["node", "bin/topiq.js"]
CMD ["serve"]
