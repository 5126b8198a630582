FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false
COPY . .
ENV NODE_ENV=production
EXPOSE 8080
CMD ["node", "--import", "tsx", "src/main.ts"]
