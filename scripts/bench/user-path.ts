// Benchmark: what a user runs. `perstack --version`, and `perstack run lead "go"` (lead delegates to helper, then
// answers) as a CLI process end to end against the scripted LLM on loopback, on each backend that can run here;
// `node -e 0` is measured in the same run, interleaved, as the yardstick. Figures are p50 / p95 / p99 and, for
// times, the ratio of the p50 to node -e 0's. BENCH_BACKENDS=local,docker picks the backends (default: local,
// local-cold and local-unisolated (see VARIANTS), and docker when an engine answers with the sandbox image built).
import { execFile, spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { descendantsOf } from "../../orchestrator/sandbox/local/process-tree.ts"
import { expertOf, startExpertScript } from "../../orchestrator/testing/expert-script.ts"
import { ORCHESTRATOR_NODE_FLAGS } from "../../runtime/cli/node-flags.ts"

export const title = "the user's path: perstack --version and perstack run with one delegation, per backend"

const repo = path.resolve(import.meta.dirname, "../..")
// BENCH_CLI: another build of the CLI (a copy of dist/ from before a change), to compare two builds back to back.
const cli = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(repo, "dist/perstack.js")
const exec = promisify(execFile)
/** The CLI as a user runs it: with the Node flags of its shebang (`perstack` is dist/perstack.js on the PATH). */
const perstack = [...ORCHESTRATOR_NODE_FLAGS, cli]

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN
}

function row(name: string, values: readonly number[], unit: string, yardstick?: number): string {
  const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => quantile(values, q))
  const ratio = yardstick && p50 !== undefined ? `  ${(p50 / yardstick).toFixed(1)}x node -e 0` : ""
  const fmt = (value: number | undefined) =>
    value === undefined ? "-" : value.toFixed(unit === "MB" ? 1 : 0)
  return `  ${name.padEnd(44)} p50 ${fmt(p50).padStart(6)}  p95 ${fmt(p95).padStart(6)}  p99 ${fmt(p99).padStart(6)} ${unit}${ratio}\n`
}

/** Wall time of a command, ms. */
async function timed(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = performance.now()
  await exec(process.execPath, [...args], { env, maxBuffer: 1 << 26 })
  return performance.now() - started
}

/** VmRSS of a process and every descendant, summed, MB; 0 once they are gone. */
async function treeRss(pid: number): Promise<{ total: number; own: number }> {
  const rssOf = async (target: number) => {
    const status = await readFile(`/proc/${target}/status`, "utf8").catch(() => "")
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
  }
  const own = await rssOf(pid)
  const rest = await Promise.all((await descendantsOf(pid)).map(rssOf))
  return { total: own + rest.reduce((sum, value) => sum + value, 0), own }
}

/** CPU of a finished process and its waited-for descendants (utime + stime from /proc/self's children total). */
async function childrenCpuMs(): Promise<number> {
  const stat = await readFile("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // cutime and cstime: fields 16 and 17 of stat, 13 and 14 after the command name.
  const ticks = Number(fields[13]) + Number(fields[14])
  return (ticks * 1000) / 100
}

interface RunSample {
  firstRequest: number
  delegation: number
  returnToParent: number
  wall: number
  cpu: number
  rssAll: number
  rssOrchestrator: number
}

/**
 * The variants a backend name stands for: local is the default (isolated where bubblewrap runs, with its warm pool);
 * local-cold without the warm pool, local-unisolated as a plain process (the cost of isolation, side by side).
 */
const VARIANTS: Record<string, { sandbox: string; env: Record<string, string> }> = {
  local: { sandbox: "local", env: {} },
  "local-cold": { sandbox: "local", env: { PERSTACK_LOCAL_WARM_POOL: "0" } },
  "local-unisolated": { sandbox: "local", env: { PERSTACK_LOCAL_ISOLATION: "off" } },
  docker: { sandbox: "docker", env: {} },
}

async function runOnce(backend: string): Promise<RunSample> {
  const variant = VARIANTS[backend] ?? { sandbox: backend, env: {} }
  const workspace = await mkdtemp(path.join(tmpdir(), "perstack-bench-user-"))
  const marks = { leadReply: 0, helperReply: 0 }
  await using llm = await startExpertScript({
    lead: [
      () => {
        marks.leadReply = Date.now()
        return { toolCalls: [{ name: "delegate__helper", arguments: { query: "help" } }] }
      },
      { text: "done" },
    ],
    helper: [
      () => {
        marks.helperReply = Date.now()
        return { text: "helped" }
      },
    ],
  })
  try {
    await writeFile(
      path.join(workspace, "perstack.toml"),
      `model = "scripted"\nreasoningBudget = "none"\nmaxRetries = 0\n[provider]\nproviderName = "openai"\n[experts."lead"]\ninstruction = "Lead."\ndelegates = ["helper"]\n[experts."helper"]\ninstruction = "Help."\n`,
    )
    const cpuBefore = await childrenCpuMs()
    const started = Date.now()
    const child = spawn(process.execPath, [...perstack, "run", "lead", "go", "--sandbox", variant.sandbox], {
      cwd: workspace,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        OPENAI_API_KEY: "sk-bench",
        OPENAI_BASE_URL: llm.url,
        ...variant.env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    let rssAll = 0
    let rssOrchestrator = 0
    const sampler = setInterval(() => {
      if (child.pid === undefined) return
      void treeRss(child.pid).then(({ total, own }) => {
        rssAll = Math.max(rssAll, total)
        rssOrchestrator = Math.max(rssOrchestrator, own)
      })
    }, 20)
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    const wall = Date.now() - started
    clearInterval(sampler)
    if (code !== 0) throw new Error(`perstack run exited ${code}: ${stderr.slice(-2000)}`)
    const lead = llm.requests.filter((request) => expertOf(request) === "lead")
    const helper = llm.requests.filter((request) => expertOf(request) === "helper")
    return {
      firstRequest: (lead[0]?.receivedAt ?? Number.NaN) - started,
      delegation: (helper[0]?.receivedAt ?? Number.NaN) - marks.leadReply,
      returnToParent: (lead[1]?.receivedAt ?? Number.NaN) - marks.helperReply,
      wall,
      cpu: (await childrenCpuMs()) - cpuBefore,
      rssAll,
      rssOrchestrator,
    }
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }
}

async function dockerReady(): Promise<boolean> {
  const version = JSON.parse(await readFile(path.join(repo, "package.json"), "utf8")).version as string
  return exec("docker", ["image", "inspect", `perstack/sandbox:${version}`]).then(
    () => true,
    () => false,
  )
}

export async function run(runs: number): Promise<void> {
  const backends = process.env.BENCH_BACKENDS?.split(",") ?? [
    "local",
    "local-cold",
    "local-unisolated",
    ...((await dockerReady()) ? ["docker"] : []),
  ]
  const yardstick: number[] = []
  const version: number[] = []
  for (let i = 0; i < runs; i++) {
    yardstick.push(await timed(["-e", "0"]))
    version.push(await timed([...perstack, "--version"]))
  }
  const base = quantile(yardstick, 0.5)
  process.stdout.write(row("node -e 0", yardstick, "ms"))
  process.stdout.write(row("perstack --version", version, "ms", base))
  for (const backend of backends) {
    const samples: RunSample[] = []
    // One unmeasured run first: caches (the compile cache, the images' layers) are what a user has after a day.
    await runOnce(backend)
    for (let i = 0; i < runs; i++) {
      yardstick.push(await timed(["-e", "0"]))
      samples.push(await runOnce(backend))
    }
    const pick = (key: keyof RunSample) => samples.map((sample) => sample[key])
    const yard = quantile(yardstick, 0.5)
    process.stdout.write(`  --sandbox ${backend} (${runs} runs)\n`)
    process.stdout.write(row("  start to first LLM request", pick("firstRequest"), "ms", yard))
    process.stdout.write(row("  delegation overhead", pick("delegation"), "ms", yard))
    process.stdout.write(row("  return to the parent", pick("returnToParent"), "ms", yard))
    process.stdout.write(row("  wall time", pick("wall"), "ms", yard))
    process.stdout.write(row("  CPU, every process", pick("cpu"), "ms"))
    process.stdout.write(row("  peak RSS, every process summed", pick("rssAll"), "MB"))
    process.stdout.write(row("  peak RSS, the orchestrator", pick("rssOrchestrator"), "MB"))
  }
}
