// The walls between folders are lint rules (biome.json's noRestrictedImports): this breaks each one on purpose and
// checks that Biome reports it, so a wall that a later override silently replaces (Biome keeps only the last
// matching override's options for a rule) or a pattern that no longer matches fails here, not in review.
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = path.resolve(import.meta.dirname, "..")
const BIOME = path.join(ROOT, "node_modules/@biomejs/biome/bin/biome")

interface Probe {
  /** where the importing file sits, relative to the repository */
  file: string
  /** what it imports */
  from: string
  /** a piece of the wall's message; undefined: the import is allowed */
  wall?: string
}

const BACKENDS = "Each sandbox backend"
const CLIENT = "client/ and react/ reach the server over HTTP only"
const EDGE = "An edge ("
const RUNTIME = "runtime/ must not import orchestrator/"
const SURFACE = "orchestrator/ reaches the runtime through its published surface only"

const PROBES: Probe[] = [
  { file: "orchestrator/sandbox/docker/probe.ts", from: "../kubernetes/job-spec.ts", wall: BACKENDS },
  { file: "orchestrator/sandbox/kubernetes/probe.ts", from: "../docker/container-config.ts", wall: BACKENDS },
  { file: "orchestrator/sandbox/kubernetes/probe.test.ts", from: "../docker/labels.ts", wall: BACKENDS },
  { file: "orchestrator/sandbox/local/probe.ts", from: "../docker/docker-backend.ts", wall: BACKENDS },
  { file: "orchestrator/sandbox/container/probe.ts", from: "../kubernetes/job-spec.ts", wall: BACKENDS },
  { file: "orchestrator/sandbox/docker/deep.ts", from: "../../store/job-store.ts", wall: EDGE },
  { file: "orchestrator/sandbox/probe.ts", from: "../job/run-job.ts", wall: EDGE },
  { file: "orchestrator/client/probe.ts", from: "../serve/serve-app.ts", wall: CLIENT },
  { file: "orchestrator/react/probe.ts", from: "../serve/job-view.ts", wall: CLIENT },
  { file: "orchestrator/http-api/probe.ts", from: "../serve/serve-app.ts", wall: EDGE },
  { file: "orchestrator/serve/probe.ts", from: "../client/api-client.ts", wall: "An app (" },
  { file: "orchestrator/tui/probe.ts", from: "../cli/main.ts", wall: "An app (" },
  { file: "orchestrator/api/probe.ts", from: "../serve/serve-app.ts", wall: "api/ must not" },
  { file: "orchestrator/job/probe.ts", from: "../api/run.ts", wall: "job/ must not" },
  { file: "orchestrator/log/probe.ts", from: "../job/run-job.ts", wall: "A reader (" },
  { file: "orchestrator/trust/probe.ts", from: "../job/run-job.ts", wall: "A reader (" },
  { file: "orchestrator/store/probe.ts", from: "../log/log-view.ts", wall: "store/ must not" },
  { file: "orchestrator/store/tree.ts", from: "../job-tree/run-tree.ts", wall: "store/ must not" },
  { file: "orchestrator/job-tree/probe.ts", from: "../log/log-view.ts", wall: "job-tree/ must not" },
  { file: "orchestrator/ndjson/probe.ts", from: "../job-tree/run-tree.ts", wall: EDGE },
  { file: "orchestrator/text/probe.ts", from: "../store/job-store.ts", wall: EDGE },
  { file: "orchestrator/intake/probe.ts", from: "../store/job-store.ts", wall: EDGE },
  { file: "orchestrator/gateway/probe.ts", from: "../job/run-job.ts", wall: EDGE },
  { file: "orchestrator/config/probe.ts", from: "../cli/main.ts", wall: EDGE },
  { file: "orchestrator/secrets/probe.ts", from: "../store/job-store.ts", wall: EDGE },
  { file: "orchestrator/cli/probe.ts", from: "../../runtime/loop/run-segment.ts", wall: SURFACE },
  { file: "orchestrator/index-probe.ts", from: "../runtime/skills/base/tools/exec.ts", wall: SURFACE },
  { file: "orchestrator/job/deep.ts", from: "../../runtime/llm/generate.ts", wall: SURFACE },
  { file: "orchestrator/sandbox/local/deep.ts", from: "../../../runtime/cli/node-flags.ts", wall: SURFACE },
  { file: "orchestrator/gateway/deep.ts", from: "../../runtime/testing/run-harness.ts", wall: SURFACE },
  { file: "orchestrator/tui/deep.tsx", from: "../../runtime/llm/providers.ts", wall: SURFACE },
  { file: "runtime/loop/probe.ts", from: "../../orchestrator/sandbox/sandbox.ts", wall: RUNTIME },
  { file: "runtime/loop/dockerode.ts", from: "dockerode", wall: "it never talks to Docker" },
  // What the walls let through: downwards, shared modules, the runtime's own cli/, and tests reaching up.
  { file: "orchestrator/sandbox/docker/fine.ts", from: "../container/resource-limits.ts" },
  { file: "orchestrator/sandbox/kubernetes/fine.ts", from: "../sandbox.ts" },
  { file: "orchestrator/sandbox/local/fine.ts", from: "../../../runtime/host/sandbox-process.ts" },
  { file: "orchestrator/sandbox/local/fine.test.ts", from: "../../../runtime/testing/run-spec-builder.ts" },
  { file: "orchestrator/gateway/fine.ts", from: "../../runtime/host/providers.ts" },
  { file: "orchestrator/store/fine.ts", from: "../../runtime/protocol/events/index.ts" },
  { file: "orchestrator/testing/fine.ts", from: "../../runtime/testing/run-harness.ts" },
  { file: "orchestrator/client/fine.ts", from: "../http-api/api-schema.ts" },
  { file: "orchestrator/serve/fine.ts", from: "../http-api/api-schema.ts" },
  { file: "orchestrator/react/fine.test.ts", from: "../serve/serve-test-harness.ts" },
  { file: "orchestrator/job/fine.ts", from: "../store/job-store.ts" },
  { file: "orchestrator/log/fine.ts", from: "../job-tree/run-tree.ts" },
  { file: "orchestrator/job-tree/fine.ts", from: "../store/job-store.ts" },
  { file: "orchestrator/cli/fine.ts", from: "../serve/serve-server.ts" },
]

/** The repository's Biome config in a scratch folder: the same rules, without git (the folder is no repository). */
async function scratchConfig(dir: string): Promise<void> {
  const config = JSON.parse(await readFile(path.join(ROOT, "biome.json"), "utf8"))
  delete config.$schema
  config.vcs = { enabled: false }
  await writeFile(path.join(dir, "biome.json"), JSON.stringify(config))
}

async function writeProbe(dir: string, probe: Probe): Promise<void> {
  const file = path.join(dir, probe.file)
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, `import { probe } from "${probe.from}"\n\nexport const value = probe\n`)
}

/** Each file's noRestrictedImports messages, read from the GitHub reporter's one line per diagnostic. */
async function lintWalls(dir: string): Promise<Map<string, string[]>> {
  const args = [BIOME, "lint", "--reporter=github", "--only=style/noRestrictedImports", "."]
  const output = await promisify(execFile)(process.execPath, args, { cwd: dir }).then(
    (result) => result.stdout,
    // Exit code 1 is Biome finding errors: the probes are meant to.
    (error: { stdout?: string }) => error.stdout ?? "",
  )
  const found = new Map<string, string[]>()
  for (const line of output.split("\n")) {
    const match = /^::error title=lint\/style\/noRestrictedImports,file=([^,]+),.*?::(.*)$/.exec(line)
    if (!match?.[1] || match[2] === undefined) continue
    const file = path.relative(dir, match[1])
    found.set(file, [...(found.get(file) ?? []), match[2]])
  }
  return found
}

describe("the walls in biome.json", () => {
  let dir: string
  let found: Map<string, string[]>

  beforeAll(async () => {
    // Real path: Biome names files by it (a temp folder behind a symlink, as on macOS, would not match).
    dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-walls-")))
    await scratchConfig(dir)
    for (const probe of PROBES) await writeProbe(dir, probe)
    found = await lintWalls(dir)
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("reports every import that breaks a wall, with the wall's reason", () => {
    const missed = PROBES.filter((probe) => probe.wall)
      .filter((probe) => {
        const messages = found.get(probe.file) ?? []
        return messages.length !== 1 || !messages[0]?.includes(probe.wall ?? "")
      })
      .map(
        (probe) =>
          `${probe.file} importing ${probe.from}: ${found.get(probe.file)?.join(" | ") ?? "nothing"}`,
      )
    expect(missed).toEqual([])
  })

  it("lets through what the walls allow", () => {
    const refused = PROBES.filter((probe) => !probe.wall && found.has(probe.file)).map(
      (probe) => `${probe.file} importing ${probe.from}: ${found.get(probe.file)?.join(" | ")}`,
    )
    expect(refused).toEqual([])
  })
})
