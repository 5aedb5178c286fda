# Every target runs through scripts/node-env.sh, which provides Node >= 22.22 (installing Node 24 if needed).
RUN := scripts/node-env.sh

.PHONY: setup build demo test test-unit test-e2e lint format bench clean docker images

# Install packages when package.json or the lockfile changed (npm 11.19 writes lockfiles its own `npm ci` rejects, so `npm install`, which keeps the lockfile; it also builds dist/ via `prepare`).
node_modules/.setup-done: package.json package-lock.json scripts/node-env.sh
	$(RUN) npm install --no-audit --no-fund --loglevel=error
	touch $@

setup: node_modules/.setup-done

build: setup
	$(RUN) npm run build

# The main job: the fitness assistant delegating to the pro trainer, end to end (see scripts/demo.ts).
demo: build
	$(RUN) node dist/perstack.js validate --config examples/fitness-assistant/perstack.toml
	$(RUN) node scripts/demo.ts

# The README's test command; .ci/run calls exactly this.
test: setup
	$(RUN) npm test

test-unit: setup
	$(RUN) npm run test:unit

test-e2e: build
	$(RUN) npm run test:e2e

lint: setup
	$(RUN) npm run lint

format: setup
	$(RUN) npm run format

bench: build
	$(RUN) npm run bench

# A Docker engine: a running one is left alone; as root on Debian, installs docker.io and starts it.
docker:
	scripts/docker-engine.sh

# perstack/sandbox:<version> (and -minimal) and perstack/perstack:<version> for the docker backend, built on a
# Debian base made without any registry (cached in ~/.cache/perstack/images; BASE_IMAGE=node:24-bookworm-slim
# to build on the public image instead).
images: build
	$(RUN) scripts/build-images.sh

clean:
	rm -rf dist node_modules .tools
