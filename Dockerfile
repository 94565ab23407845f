# Order hub runtime image. tsx is a runtime dependency, so the TypeScript
# sources run as they are: no build step.
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY --chown=node:node . .

ENV NODE_ENV=production
EXPOSE 8080

USER node
CMD ["npm", "start"]
