// Every code block and command of the seeds (../shared/seeds, the docs Perstack users follow), with what it does here.
// The text is the seed's, line breaks restored (the seeds' text lost them); e2e/seeds.test.ts checks it is still in
// its seed and runs each block that can run here, as written, or with the one change `adapted` names.

export type SeedStatus =
  /** runs as written */
  | { kind: "works" }
  /** runs with one change, named here (a hosted URL, a package name) */
  | { kind: "adapted"; change: string }
  /** cannot run here, and why */
  | { kind: "not here"; why: string }

export interface SeedBlock {
  id: string
  /** the seed files that show it (their name's start) */
  seeds: string[]
  text: string
  status: SeedStatus
}

const works: SeedStatus = { kind: "works" }
const NO_PULL =
  "without `--pull always` (these machines reach no container registry; perstack/perstack is built locally)"
const CREATE_EXPERT =
  "create-expert is a built-in Expert of upstream's image, fetched from the registry (issue 21: not built yet)"

export const FITNESS_TOML = `[experts."fitness-assistant"]
description = "Assists users with their fitness journey"
instruction = """
As a personal fitness assistant:
1. Conduct interview sessions with the user
2. Manage records in \`./fitness-log.md\`
3. Delegate to \`pro-trainer\` for professional training menus
"""
delegates = ["pro-trainer"]

[experts."pro-trainer"]
description = """
Suggests training menus based on user history and current physical condition.
"""
instruction = """
Provide training menu suggestions with scientifically verified effects.
Tailor recommendations to the user's condition and training history.
"""
`

export const WALKTHROUGH_FITNESS_TOML = `[experts."fitness-assistant"]
description = "Manages fitness records and suggests training menus"
instruction = """
Conduct interview sessions and manage records in \`./fitness-log.md\`.
Collaborate with \`pro-trainer\` for professional training menus.
"""
delegates = ["pro-trainer"]

[experts."pro-trainer"]
description = "Suggests scientifically-backed training menus"
instruction = "Provide split routines and HIIT plans tailored to user history."
`

export const AI_GAMING_TOML = `[experts."ai-gaming"]
description = "Game development team lead"
instruction = "Coordinate the team to build a CLI dungeon crawler."
delegates = ["@ai-gaming/level-designer", "@ai-gaming/programmer", "@ai-gaming/tester"]

[experts."@ai-gaming/level-designer"]
description = "Designs dungeon layouts and game mechanics"
instruction = "Design engaging dungeon levels, enemy encounters, and progression systems."

[experts."@ai-gaming/programmer"]
description = "Implements the game in TypeScript"
instruction = "Write the game code using Bun, targeting terminal-based gameplay."

[experts."@ai-gaming/tester"]
description = "Tests the game and reports bugs"
instruction = "Play-test the game, find bugs, and verify fixes."
`

export const NEWS_TOML = `[experts."news-researcher"]
description = "Researches latest news on a topic"
instruction = """
1. Search the web for recent news on the given topic
2. Summarize findings with source URLs
3. Save report to \`./reports/news.md\`
"""

[experts."news-researcher".skills."web-search"]
type = "mcpStdioSkill"
command = "npx"
packageName = "exa-mcp-server"
requiredEnv = ["EXA_API_KEY"]
`

export const SEED_DOCKERFILE = `FROM perstack/perstack:latest
# Install extra dependencies and configure a non-root user here if needed:
# RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
# RUN useradd -m agent
# USER agent
COPY perstack.toml .
RUN perstack install
ENTRYPOINT ["perstack", "run", "my-expert"]
`

const DUNGEON =
  "Create a Wizardry-like dungeon crawler in a fixed 10-floor labyrinth with complex layouts, traps, fixed room encounters, and random battles. Include special-effect gear drops, leveling, and a skill tree for one playable character. Balance difficulty around build optimization. Death in the dungeon causes loss of one random equipped item."

export const API_CLIENT_TS = `import { createApiClient } from "@perstack/api-client"
const client = createApiClient({
  apiKey: process.env.PERSTACK_API_KEY,
})
// Start a job
const result = await client.jobs.start({
  applicationId: "your-app-id",
  expertKey: "fitness-assistant",
  query: "Start today's session",
  provider: "anthropic",
})
if (!result.ok) {
  // result.error.type: "http" | "network" | "timeout" | "validation" | "abort"
  console.error(result.error.message)
  process.exit(1)
}
const jobId = result.data.data.job.id
// Stream events
const stream = await client.jobs.stream(jobId)
if (stream.ok) {
  for await (const event of stream.data.events) {
    console.log(event.type, event)
  }
}
// Continue with a follow-up
await client.jobs.continue(jobId, {
  query: "Now create a weekly schedule",
})
`

const embed = (setting: string, listener: boolean) => `import { run } from "@perstack/runtime"
const checkpoint = await run({
  setting: {
${setting}
    expertKey: "${setting.includes("fireworks") ? "my-expert" : "fitness-assistant"}",
    input: { text: "Start today's session" },
  },${
    listener
      ? `
  eventListener: (event) => {
    console.log(event.type, event)
  },`
      : ""
  }
})
`
const ANTHROPIC_SETTING = `    model: "claude-sonnet-4-5-20250929",
    providerConfig: { providerName: "anthropic" },`
const FIREWORKS_SETTING = `    providerConfig: { providerName: "fireworks" },`

const RUNTIME_PACKAGE = 'imports "perstack/runtime" (this package\'s export) instead of "@perstack/runtime"'

export const SEED_BLOCKS: SeedBlock[] = [
  // --- Adding AI to your app (000)
  {
    id: "docker-expert-image-run",
    seeds: ["000"],
    text: `docker run --rm \\
  -e ANTHROPIC_API_KEY \\
  -v $(pwd)/workspace:/workspace \\
  perstack-expert my-expert "user query"`,
    status: works,
  },
  {
    id: "docker-expert-image-continue",
    seeds: ["000"],
    text: `docker run --rm \\
  -e ANTHROPIC_API_KEY \\
  -v $(pwd)/workspace:/workspace \\
  perstack-expert my-expert "follow-up query" --continue`,
    status: works,
  },
  {
    id: "docker-expert-image-resume-from",
    seeds: ["000"],
    text: `# Resume from a specific checkpoint
docker run --rm \\
  -e ANTHROPIC_API_KEY \\
  -v $(pwd)/workspace:/workspace \\
  perstack-expert my-expert --resume-from <checkpoint-id>`,
    status: works,
  },
  // --- Getting started (003)
  {
    id: "export-anthropic-key",
    seeds: ["003", "001"],
    text: "export ANTHROPIC_API_KEY=sk-ant-...",
    status: works,
  },
  {
    id: "start-from-registry",
    seeds: ["003"],
    text: `npx perstack start tic-tac-toe "Let's play!"`,
    status: { kind: "not here", why: "tic-tac-toe comes from the Expert registry (issue 21: not built yet)" },
  },
  { id: "fitness-toml", seeds: ["003"], text: `# ./perstack.toml\n${FITNESS_TOML}`, status: works },
  {
    id: "npx-start-fitness",
    seeds: ["003", "001"],
    text: `npx perstack start fitness-assistant "Start today's session"`,
    status: works,
  },
  { id: "news-researcher-toml", seeds: ["003"], text: NEWS_TOML, status: works },
  {
    id: "npx-start-news-researcher",
    seeds: ["003"],
    text: `export EXA_API_KEY=your_exa_key\nnpx perstack start news-researcher "AI startup funding this week"`,
    status: {
      kind: "not here",
      why: "exa-mcp-server searches through Exa's hosted API (a real EXA_API_KEY)",
    },
  },
  {
    id: "node-slim-dockerfile",
    seeds: ["003"],
    text: `FROM node:22-slim
RUN npm install -g perstack
COPY perstack.toml /app/perstack.toml
WORKDIR /workspace
ENTRYPOINT ["perstack", "start", "--config", "/app/perstack.toml", "fitness-assistant"]`,
    status: {
      kind: "not here",
      why: "node:22-slim comes from Docker Hub (no registry here), and `npm install -g perstack` installs upstream's published package, not this one",
    },
  },
  {
    id: "node-slim-docker-build-run",
    seeds: ["003"],
    text: `docker build -t fitness-assistant .
docker run --rm \\
  -e ANTHROPIC_API_KEY \\
  -v $(pwd)/workspace:/workspace \\
  fitness-assistant "Start today's session"`,
    status: { kind: "not here", why: "builds the node:22-slim Dockerfile above" },
  },
  // --- README (002)
  {
    id: "docker-create-expert",
    seeds: ["002"],
    text: `# Use \`create-expert\` to scaffold a micro-agent team named \`bash-gaming\`
docker run --pull always --rm -it \\
--env-file .env \\
-v ./bash-gaming:/workspace \\
perstack/perstack start create-expert \\
--provider <provider> \\
--model <model> \\
"Form a team named bash-gaming.`,
    status: { kind: "not here", why: CREATE_EXPERT },
  },
  {
    id: "docker-start-bash-gaming",
    seeds: ["002"],
    text: `# Let \`bash-gaming\` build a Wizardry-like dungeon crawler
docker run --pull always --rm -it \\
--env-file .env \\
-v ./<result-dir>:/workspace \\
-v ./bash-gaming/perstack.toml:/definitions/perstack.toml:ro \\
perstack/perstack start bash-gaming \\
--config /definitions/perstack.toml \\
--provider <provider> \\
--model <model> \\
"${DUNGEON}"`,
    status: { kind: "not here", why: "runs the bash-gaming team that create-expert writes (issue 21)" },
  },
  { id: "npx-log-job", seeds: ["002"], text: "$ npx perstack log --job <jobId>", status: works },
  { id: "production-dockerfile", seeds: ["002"], text: SEED_DOCKERFILE, status: works },
  {
    id: "export-fireworks-key",
    seeds: ["002", "004"],
    text: "export FIREWORKS_API_KEY=fw_...",
    status: works,
  },
  {
    id: "docker-start-env-key",
    seeds: ["002", "004"],
    text: `docker run --rm -it \\
-e FIREWORKS_API_KEY \\
-v ./workspace:/workspace \\
perstack/perstack start my-expert "query" --provider fireworks`,
    status: works,
  },
  {
    id: "workspace-dotenv",
    seeds: ["002"],
    text: "# ./workspace/.env\nFIREWORKS_API_KEY=fw_...",
    status: works,
  },
  {
    id: "docker-start-dotenv",
    seeds: ["002", "004"],
    text: `docker run --rm -it \\
-v ./workspace:/workspace \\
perstack/perstack start my-expert "query"`,
    status: works,
  },
  {
    id: "start-env-path",
    seeds: ["002", "004"],
    text: `perstack start my-expert "query" --env-path .env.production`,
    status: works,
  },
  // --- Walkthrough with npx (001)
  {
    id: "npx-create-expert",
    seeds: ["001"],
    text: `npx create-expert "Create a fitness assistant that delegates to a pro trainer"`,
    status: {
      kind: "not here",
      why: "create-expert is a package of its own on npm, built on the registry (issue 21)",
    },
  },
  { id: "walkthrough-fitness-toml", seeds: ["001"], text: WALKTHROUGH_FITNESS_TOML, status: works },
  {
    id: "npx-run-fitness",
    seeds: ["001"],
    text: `npx perstack run fitness-assistant "Start today's session"`,
    status: works,
  },
  { id: "npx-log", seeds: ["001"], text: "npx perstack log", status: works },
  ...["--errors", "--tools", '--step "5-10"', "--summary", "--json"].map(
    (option): SeedBlock => ({
      id: `npx-log ${option}`,
      seeds: ["001", "004"],
      text: option,
      status: works,
    }),
  ),
  { id: "npx-install", seeds: ["001"], text: "npx perstack install", status: works },
  {
    id: "curl-start-job",
    seeds: ["001"],
    text: `curl -X POST https://api.perstack.ai/api/v1/jobs \\
  -H "Authorization: Bearer $PERSTACK_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{ "applicationId": "your-app-id", "expertKey": "fitness-assistant", "query": "Start today'\\''s session", "provider": "anthropic" }'`,
    status: {
      kind: "adapted",
      change: "`perstack serve`'s URL instead of the hosted https://api.perstack.ai",
    },
  },
  {
    id: "curl-stream",
    seeds: ["001"],
    text: `curl -N https://api.perstack.ai/api/v1/jobs/{jobId}/stream \\
  -H "Authorization: Bearer $PERSTACK_API_KEY"`,
    status: {
      kind: "adapted",
      change: "`perstack serve`'s URL instead of the hosted https://api.perstack.ai",
    },
  },
  {
    id: "curl-continue",
    seeds: ["001"],
    text: `curl -X POST https://api.perstack.ai/api/v1/jobs/{jobId}/continue \\
  -H "Authorization: Bearer $PERSTACK_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{ "query": "Now create a weekly schedule" }'`,
    status: {
      kind: "adapted",
      change: "`perstack serve`'s URL instead of the hosted https://api.perstack.ai",
    },
  },
  {
    id: "api-client",
    seeds: ["001"],
    text: API_CLIENT_TS,
    status: {
      kind: "adapted",
      change:
        'imports "perstack" (this package) instead of "@perstack/api-client", with PERSTACK_API_BASE_URL naming `perstack serve`',
    },
  },
  {
    id: "runtime-embed",
    seeds: ["001"],
    text: embed(ANTHROPIC_SETTING, false),
    status: { kind: "adapted", change: RUNTIME_PACKAGE },
  },
  {
    id: "runtime-embed-listener",
    seeds: ["001"],
    text: embed(ANTHROPIC_SETTING, true),
    status: { kind: "adapted", change: RUNTIME_PACKAGE },
  },
  // --- Walkthrough with Docker (004)
  {
    id: "docker-create-expert-ai-gaming",
    seeds: ["004"],
    text: `# Use \`create-expert\` to scaffold a micro-agent team named \`ai-gaming\`
docker run --pull always --rm -it \\
  -e FIREWORKS_API_KEY \\
  -v ./ai-gaming:/workspace \\
  perstack/perstack start create-expert \\
  --provider fireworks \\
  --model accounts/fireworks/models/kimi-k2p5 \\
  "Form a team named ai-gaming to build a Bun-based CLI indie game playable on Bash for AI."`,
    status: { kind: "not here", why: CREATE_EXPERT },
  },
  { id: "ai-gaming-toml", seeds: ["004"], text: AI_GAMING_TOML, status: works },
  {
    id: "docker-start-ai-gaming",
    seeds: ["004"],
    text: `# Let \`ai-gaming\` build a Wizardry-like dungeon crawler
docker run --pull always --rm -it \\
  -e FIREWORKS_API_KEY \\
  -v ./ai-gaming:/workspace \\
  perstack/perstack start ai-gaming \\
  --provider fireworks \\
  --model accounts/fireworks/models/kimi-k2p5 \\
  "${DUNGEON}"`,
    status: { kind: "adapted", change: NO_PULL },
  },
  {
    id: "docker-run-ai-gaming",
    seeds: ["004"],
    text: `docker run --pull always --rm \\
  -e FIREWORKS_API_KEY \\
  -v ./ai-gaming:/workspace \\
  perstack/perstack run ai-gaming \\
  --provider fireworks \\
  --model accounts/fireworks/models/kimi-k2p5 \\
  "${DUNGEON}"`,
    status: { kind: "adapted", change: NO_PULL },
  },
  {
    id: "docker-log",
    seeds: ["004"],
    text: `docker run --rm -it \\
  -v ./ai-gaming:/workspace \\
  perstack/perstack log`,
    status: works,
  },
  {
    id: "docker-install",
    seeds: ["004"],
    text: `docker run --rm -it \\
  -v ./ai-gaming:/workspace \\
  perstack/perstack install`,
    status: works,
  },
  {
    id: "runtime-embed-fireworks",
    seeds: ["004"],
    text: embed(FIREWORKS_SETTING, false),
    status: { kind: "adapted", change: RUNTIME_PACKAGE },
  },
  {
    id: "runtime-embed-fireworks-listener",
    seeds: ["004"],
    text: embed(FIREWORKS_SETTING, true),
    status: { kind: "adapted", change: RUNTIME_PACKAGE },
  },
]

/** For finding a block in its seed: the seeds' text lost its line breaks (and sometimes the spaces around them). */
export function withoutWhitespace(text: string): string {
  return text.replace(/\\\n/g, "\\").replace(/\s+/g, "")
}
