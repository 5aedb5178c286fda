// Benchmark: process start to the first LLM request for an Expert with three MCP stdio skills, without and with
// perstack.lock (whose tool lists let the run skip starting servers), against the scripted LLM server.
// The original: 500 ms to 6 s per skill without its lockfile (npx resolving and starting each server).
import { execFileSync, spawn } from "node:child_process"
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { installSkills } from "../../orchestrator/install/install-skills.ts"
import { skillLocksFor } from "../../orchestrator/install/lock-for-run.ts"
import { RUNTIME_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"
import { perstackConfigSchema } from "../../runtime/protocol/config/perstack-toml.ts"
import type { McpStdioSkill } from "../../runtime/protocol/config/skill.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"
import { fixtureServerPath } from "../../runtime/testing/mcp-servers/stdio-fixture.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"

const root = path.resolve(import.meta.dirname, "../..")
const runtime = [...RUNTIME_NODE_FLAGS, path.join(root, "dist/runtime/perstack-runtime.js")]
const SKILLS = ["alpha", "beta", "gamma"] as const

interface Sample {
  firstRequestMs: number
  wallMs: number
  /** the longest skillConnected totalDurationMs: before the first request without a lock, at the first call with */
  slowestStartMs: number
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
const fmt = (values: number[]) =>
  `median ${median(values).toFixed(0)} ms  (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`

/** A folder whose node_modules holds three packages (no registry needed) that npx runs as the test server. */
async function npxProject(dir: string): Promise<void> {
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "bench", private: true }))
  await mkdir(path.join(dir, "node_modules", ".bin"), { recursive: true })
  for (const name of SKILLS) {
    const pkg = path.join(dir, "node_modules", `bench-mcp-${name}`)
    await mkdir(pkg, { recursive: true })
    await writeFile(
      path.join(pkg, "package.json"),
      JSON.stringify({
        name: `bench-mcp-${name}`,
        version: "1.0.0",
        bin: { [`bench-mcp-${name}`]: "server.sh" },
      }),
    )
    await writeFile(
      path.join(pkg, "server.sh"),
      `#!/bin/sh\nexec "${process.execPath}" "${fixtureServerPath("tools")}" --name ${name}\n`,
    )
    await chmod(path.join(pkg, "server.sh"), 0o755)
    await symlink(
      `../bench-mcp-${name}/server.sh`,
      path.join(dir, "node_modules", ".bin", `bench-mcp-${name}`),
    )
  }
}

function skillsFor(via: "node" | "npx"): Record<string, McpStdioSkill> {
  return Object.fromEntries(
    SKILLS.map((name) => [
      name,
      {
        type: "mcpStdioSkill",
        command: via === "node" ? process.execPath : "npx",
        args: via === "node" ? [fixtureServerPath("tools"), "--name", name] : ["-y", `bench-mcp-${name}`],
        requiredEnv: [],
        pick: [],
        omit: [],
        lazyInit: false,
      } satisfies McpStdioSkill,
    ]),
  )
}

async function runOnce(specFile: string, env: Record<string, string>, firstRequestAt: () => number) {
  const started = Date.now()
  const child = spawn(process.execPath, [...runtime, specFile], { env, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
  const events = stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; totalDurationMs?: number })
  if (code !== 0 || events.at(-1)?.type !== "completeRun") {
    throw new Error(`runtime failed (exit ${code}):\n${stderr}\n${stdout.slice(-2000)}`)
  }
  const starts = events.filter(
    (event) => event.type === "skillConnected" && event.totalDurationMs !== undefined,
  )
  return {
    firstRequestMs: firstRequestAt() - started,
    wallMs: Date.now() - started,
    slowestStartMs: Math.max(0, ...starts.map((event) => event.totalDurationMs ?? 0)),
  }
}

async function bench(label: string, spec: RunSpec, env: Record<string, string>, runs: number) {
  const specFile = path.join(tmpdir(), `perstack-bench-skills-${process.pid}.json`)
  await using llm = await startScriptedLlmServer({})
  await writeFile(
    specFile,
    JSON.stringify({ ...spec, provider: { ...spec.provider, setting: { baseUrl: llm.url } } }),
  )
  const samples: Sample[] = []
  try {
    // one run to warm the compile cache and npx's, then the measured runs
    for (let i = 0; i <= runs; i++) {
      llm.push({ toolCalls: [{ name: "alpha__search", arguments: { query: "bench" } }] }, { text: "done" })
      const first = llm.requests.length
      const sample = await runOnce(specFile, env, () => llm.requests[first]?.receivedAt ?? Number.NaN)
      if (i > 0) samples.push(sample)
    }
  } finally {
    await rm(specFile, { force: true })
  }
  process.stdout.write(`\n${label} (${runs} runs)\n`)
  process.stdout.write(`  process start -> first LLM request  ${fmt(samples.map((s) => s.firstRequestMs))}\n`)
  process.stdout.write(
    `  slowest server start (skillConnected) ${fmt(samples.map((s) => s.slowestStartMs))}\n`,
  )
  process.stdout.write(`  wall time (1 tool call, 2 LLM requests) ${fmt(samples.map((s) => s.wallMs))}\n`)
}

export const title =
  "MCP skills start-up: first LLM request for an Expert with three stdio skills, without and with perstack.lock"

export async function run(runs: number): Promise<void> {
  const workspace = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-bench-skills-")))
  const env = { PATH: process.env.PATH ?? "", HOME: workspace, OPENAI_API_KEY: "sk-bench" }
  try {
    await npxProject(workspace)
    const npx = (() => {
      try {
        execFileSync("npx", ["--version"], { stdio: "ignore", env })
        return true
      } catch {
        return false
      }
    })()
    const spec = (skills: Record<string, McpStdioSkill>) =>
      buildRunSpec({ workspace, llmUrl: "http://127.0.0.1:9/v1", expert: { skills } })
    const locked = async (skills: Record<string, McpStdioSkill>) => {
      // The locks `perstack install` writes for these skills.
      const config = perstackConfigSchema.parse({ experts: { writer: { instruction: "i", skills } } })
      const result = await installSkills({
        config,
        configFile: "perstack.toml",
        configText: "",
        env,
        cwd: workspace,
      })
      if ("failed" in result) throw new Error(result.failed.map((failure) => failure.message).join("\n"))
      return { ...spec(skills), skillLocks: skillLocksFor(result.lockfile, "writer") }
    }
    process.stdout.write(
      `(each server: node ${path.relative(root, fixtureServerPath("tools"))}, MCP SDK server)\n`,
    )
    await bench("no MCP skills (baseline)", spec({}), env, runs)
    await bench("3 stdio skills run with node, no lock", spec(skillsFor("node")), env, runs)
    await bench("3 stdio skills run with node, perstack.lock", await locked(skillsFor("node")), env, runs)
    if (npx) {
      await bench("3 stdio skills run with npx (local packages), no lock", spec(skillsFor("npx")), env, runs)
      await bench(
        "3 stdio skills run with npx (local packages), perstack.lock",
        await locked(skillsFor("npx")),
        env,
        runs,
      )
    }
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
}
