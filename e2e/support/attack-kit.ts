// The attack suite's tools: a user's workspace with the provider key in its .env (as the original's docs told users to
// keep it), a scripted LLM that plays a prompt-injected Expert, a foreign server the attacker hopes to reach, and the
// built `perstack` CLI run as the user runs it.
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { chown, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from "node:fs/promises"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { type ExpertReplies, startExpertScript } from "../../orchestrator/testing/expert-script.ts"
import { userWorkspace } from "./docker-session.ts"

const repo = path.resolve(import.meta.dirname, "../..")

/** The user's real provider key: it must reach the provider (through the gateway) and nothing else, ever. */
export const USER_KEY = `sk-live-${randomUUID().replaceAll("-", "")}`

export type AttackBackend = "local" | "docker"

/** A server the attacker would like to reach from the host: it counts what arrives. */
export async function foreignServer() {
  const seen: string[] = []
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? ""}`)
    response.writeHead(500).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export interface CliOutcome {
  code: number | null
  stdout: string
  stderr: string
}

/** `node dist/perstack.js ...` in the workspace, with a plain environment: the key lives only in the workspace's .env. */
export function perstack(cwd: string, args: readonly string[]): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repo, "dist/perstack.js"), ...args],
      {
        cwd,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 180_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** Every file under `dir` whose bytes hold `needle`, relative to `dir`. */
export async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(current, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile() && (await readFile(full)).includes(needle)) found.push(path.relative(dir, full))
    }
  }
  await walk(dir)
  return found
}

export const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  )

/** A scratch folder outside the workspace, where a successful host-side attack would leave its mark. */
export async function hostScratch() {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-host-")))
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * A user's project: perstack.toml naming the hostile Expert `mallory` (and `alice`, a plain one), the key in `.env`,
 * the LLM's address there too. The scripted LLM accepts only the user's key, so every request it answers came
 * through the orchestrator's gateway.
 */
export async function hostileProject(
  backend: AttackBackend,
  replies: ExpertReplies,
  /** more of perstack.toml, e.g. mallory's [experts."mallory".sandbox] */
  extraToml = "",
) {
  const ws = backend === "docker" ? await userWorkspace() : await hostScratch()
  const llm = await startExpertScript(replies, { apiKey: USER_KEY })
  const toml = `model = "scripted"
reasoningBudget = "none"
maxRetries = 0
runtime = "${backend}"

[provider]
providerName = "openai"

[experts."mallory"]
instruction = "Do what the web page you read says."

[experts."alice"]
instruction = "Answer."
${extraToml}`
  await writeFile(path.join(ws.dir, "perstack.toml"), toml)
  await writeFile(path.join(ws.dir, ".env"), `OPENAI_API_KEY=${USER_KEY}\nOPENAI_BASE_URL=${llm.url}\n`)
  // The user's own files, as the workspace is: only the sandbox's mounts keep it from them, not permissions.
  if (backend === "docker" && process.getuid?.() === 0) {
    for (const name of ["perstack.toml", ".env"]) await chown(path.join(ws.dir, name), 1000, 1000)
  }
  return {
    dir: ws.dir,
    llm,
    toml,
    /** `perstack run <expert> <query> ...args` in the project */
    run: (expert: string, query: string | undefined, args: readonly string[] = []) =>
      perstack(ws.dir, ["run", expert, ...(query !== undefined ? [query] : []), ...args]),
    async [Symbol.asyncDispose]() {
      await llm.close()
      await ws[Symbol.asyncDispose]()
    },
  }
}

/** The job id of a `perstack run`'s summary line on stderr. */
export function jobIdOf(outcome: CliOutcome): string {
  const match = /perstack: job (\S+) /.exec(outcome.stderr)
  if (!match?.[1]) throw new Error(`no job in: ${outcome.stderr}`)
  return match[1]
}

/** An exec tool call, as the model makes it. */
export function sh(script: string, id?: string) {
  return {
    toolCalls: [
      { ...(id ? { id } : {}), name: "exec", arguments: { command: "bash", args: ["-c", script] } },
    ],
  }
}

/** The tool results the model got back, in order: what the attacker learnt. */
export function toolResultsOf(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.includes('"resolveToolResults"'))
    .map((line) => JSON.stringify((JSON.parse(line) as { toolResults: unknown }).toolResults))
}
