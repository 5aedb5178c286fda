# The perstack/perstack image: the `perstack` CLI and the runtime, so that
#   docker run --rm -v ./ws:/workspace perstack/perstack run <expert> "<query>"
# runs a job in the mounted workspace (each Expert a process in this container: the local backend), and with
#   -v /var/run/docker.sock:/var/run/docker.sock ... run --sandbox docker ...
# each Expert in a sibling container of perstack/sandbox (workspace paths translated to the host's).
# Build it from the repository root after `npm run build` (scripts/build-images.sh does both).
# BASE_IMAGE is the public Node image by default; scripts/build-base-image.sh makes an equivalent one from
# Debian's packages (with git and python3 already in, so this build needs no network).
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE}
USER root
# What the Experts of the local backend find in this container: Node, npm/npx, ca-certificates and procps. As in
# the seeds' image, no git or python3: add them in your own Dockerfile (FROM perstack/perstack) if your Experts need them.
RUN set -eu; missing=""; \
    for p in ca-certificates procps; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done; \
    if [ -n "$missing" ]; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /opt/perstack
COPY package.json ./
# The CLI with its dependencies bundled (dist/image: no node_modules), and the self-contained runtime.
COPY dist/image/ ./dist/
COPY dist/runtime ./dist/runtime
COPY examples ./examples
ARG PERSTACK_VERSION=dev
LABEL org.opencontainers.image.title="perstack" \
      org.opencontainers.image.source="https://github.com/perstack-ai/perstack" \
      perstack.version="${PERSTACK_VERSION}"
# `perstack` on PATH, as the seeds' Dockerfile uses it (RUN perstack install, ENTRYPOINT ["perstack", "run", ...]);
# PERSTACK_SANDBOX=1: the seeds' marker (Experts of the local backend run in this container).
RUN ln -s /opt/perstack/dist/perstack.js /usr/local/bin/perstack
ENV PERSTACK_SANDBOX=1
WORKDIR /workspace
ENTRYPOINT ["/opt/perstack/dist/perstack.js"]
CMD ["--help"]
