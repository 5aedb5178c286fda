// `make demo`: the main job. The fitness assistant delegates to the pro trainer, each in its own sandbox, sharing
// fitness-log.md. With a provider key it talks to the real provider; without one it replays a recorded conversation.
import { spawn } from "node:child_process"
import { chown, mkdir, readFile, rm } from "node:fs/promises"
import path from "node:path"
import { createInterface } from "node:readline"
import { loadEnv } from "../orchestrator/config/load-env.ts"
import { startExpertScript } from "../orchestrator/testing/expert-script.ts"
import { PROVIDER_PRESETS } from "../runtime/llm/providers.ts"

const root = path.resolve(import.meta.dirname, "..")
const example = path.join(root, "examples/fitness-assistant")
const workspace = path.resolve(process.env.PERSTACK_DEMO_WORKSPACE ?? path.join(root, "demo-workspace"))
const shown = path.relative(root, workspace) || workspace
const query = process.argv[2] ?? "Start today's session"
// Anything after the query goes to `perstack run` as it is (e.g. --sandbox kubernetes).
const extra = process.argv.slice(3)

await rm(workspace, { recursive: true, force: true })
await mkdir(workspace, { recursive: true })
// Kubernetes pods run as a non-root user (PERSTACK_K8S_RUN_AS, default 1000:1000): the workspace must be theirs.
if (extra.includes("kubernetes") && process.getuid?.() === 0) {
  const [uid = 1000, gid = uid] = (process.env.PERSTACK_K8S_RUN_AS ?? "1000:1000").split(":").map(Number)
  await chown(workspace, uid, gid)
}
const env = await loadEnv({ dir: root, processEnv: process.env })
const keyed = Object.entries(PROVIDER_PRESETS).find(([, preset]) =>
  preset?.keyVariables.some((name) => env[name]),
)

const args = [
  "run",
  "fitness-assistant",
  query,
  "--config",
  path.join(example, "perstack.toml"),
  "--workspace",
  workspace,
]
const childEnv: Record<string, string | undefined> = { ...process.env }
let replay: Awaited<ReturnType<typeof startExpertScript>> | undefined
if (keyed) {
  process.stdout.write(`Provider key found: running against the real "${keyed[0]}" provider.\n`)
  args.push("--provider", keyed[0])
} else {
  const recorded = JSON.parse(await readFile(path.join(example, "recorded-conversation.json"), "utf8")) as {
    experts: Parameters<typeof startExpertScript>[0]
  }
  replay = await startExpertScript(recorded.experts)
  process.stdout.write(
    "No provider key found (ANTHROPIC_API_KEY, OPENAI_API_KEY, ...): replaying the recorded conversation in\n" +
      "examples/fitness-assistant/recorded-conversation.json from a scripted LLM server on loopback.\n" +
      "Everything else is real: each Expert runs in its own sandbox process, over the same workspace.\n",
  )
  args.push("--provider", "openai-compatible", "--model", "recorded", "--reasoning-budget", "none")
  Object.assign(childEnv, { OPENAI_COMPATIBLE_BASE_URL: replay.url, OPENAI_COMPATIBLE_API_KEY: "recorded" })
}
args.push(...extra)
process.stdout.write(
  `\n$ perstack ${args.map((arg) => (arg.includes(" ") ? JSON.stringify(arg) : arg)).join(" ")}\n\n`,
)

const child = spawn(process.execPath, [path.join(root, "dist/perstack.js"), ...args], {
  cwd: root,
  env: childEnv,
  stdio: ["ignore", "pipe", "inherit"],
})
// The CLI prints every event as NDJSON; show the story in one line per step.
for await (const line of createInterface({ input: child.stdout })) {
  const event = JSON.parse(line) as Record<string, unknown> & { type: string; expertKey?: string }
  const who = `[${event.expertKey ?? "orchestrator"}]`.padEnd(20)
  if (event.type === "callTools") {
    const calls = event.toolCalls as Array<{ toolName: string; args: Record<string, unknown> }>
    process.stdout.write(
      `${who} calls ${calls.map((call) => `${call.toolName}(${brief(call.args)})`).join(", ")}\n`,
    )
  } else if (event.type === "completeRun") {
    process.stdout.write(`${who} answers: ${String(event.text)}\n`)
  } else if (event.type === "sandboxStarted") {
    process.stdout.write(
      `${`[${String(event.expertKey)}]`.padEnd(20)} starts in sandbox ${String(event.sandboxId)}\n`,
    )
  } else if (event.type === "stopRunByError") {
    process.stdout.write(`${who} failed: ${JSON.stringify(event.error)}\n`)
  }
}
const code = await new Promise<number>((resolve) => child.on("close", (exit) => resolve(exit ?? 1)))
await replay?.close()

const log = await readFile(path.join(workspace, "fitness-log.md"), "utf8").catch(() => "(not written)")
process.stdout.write(`\n--- ${shown}/fitness-log.md\n${log}\n`)
process.stdout.write(
  `The job is stored in ${shown}/perstack/jobs/. Inspect it with:\n  node dist/perstack.js log --workspace ${shown}\n`,
)
process.exitCode = code

function brief(args: Record<string, unknown>): string {
  const text = JSON.stringify(args)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
