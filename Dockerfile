# The perstack/perstack image: the CLI and runtime. Built and tested with the Docker backend issue;
# until then it packages the CLI only (enough for `perstack validate`).
ARG BASE_IMAGE=node:24-bookworm-slim
FROM ${BASE_IMAGE}
WORKDIR /opt/perstack
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY dist ./dist
COPY examples ./examples
WORKDIR /workspace
ENTRYPOINT ["node", "/opt/perstack/dist/perstack.js"]
