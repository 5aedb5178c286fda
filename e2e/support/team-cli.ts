// The README's team through the built CLI, as the backend e2e tests run it: `perstack run fitness-assistant` on
// the scripted LLM (openai-compatible), one retry budget of 0, in a given sandbox backend.
import path from "node:path"

const repo = path.resolve(import.meta.dirname, "../..")

/** argv for `node`: a new job (`jobId`, with the query), or `extraArgs` such as --continue-job without one. */
export function teamRunArgs(options: {
  workspace: string
  sandbox: "docker" | "kubernetes"
  /** the new job's id; leave it out to continue one (with --continue-job in extraArgs) */
  jobId?: string
  extraArgs?: readonly string[]
}): string[] {
  return [
    path.join(repo, "dist/perstack.js"),
    "run",
    "fitness-assistant",
    ...(options.jobId !== undefined ? ["Start today's session"] : []),
    "--config",
    path.join(repo, "examples/fitness-assistant/perstack.toml"),
    "--workspace",
    options.workspace,
    "--sandbox",
    options.sandbox,
    "--provider",
    "openai-compatible",
    "--model",
    "scripted",
    "--reasoning-budget",
    "none",
    "--max-retries",
    "0",
    ...(options.jobId !== undefined ? ["--job-id", options.jobId] : []),
    ...(options.extraArgs ?? []),
  ]
}
