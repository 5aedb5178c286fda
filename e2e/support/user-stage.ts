// Test support: a user's machine for the tests that run the docs' code blocks as a user would (e2e/seeds.test.ts,
// e2e/readme.test.ts): a home, `perstack` on PATH, `npx perstack` resolving this package, a shell, a terminal (tmux),
// a scripted LLM the host and containers reach, and a docker CLI that labels what it makes so the stage removes it.
import { execFile, spawn } from "node:child_process"
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { bridgeAddress } from "../../orchestrator/sandbox/docker/bridge-address.ts"
import { type ExpertReplies, startExpertScript } from "../../orchestrator/testing/expert-script.ts"
import { docker, SESSION, SESSION_LABEL, sweepSession } from "./docker-session.ts"
import { startTmux, type TmuxSession } from "./tui-tmux.ts"

const repo = path.resolve(import.meta.dirname, "../..")
const exec = promisify(execFile)

export interface ShellResult {
  code: number | null
  stdout: string
  stderr: string
}

/** The scripted LLM on every interface: the host reaches it on loopback, containers on the bridge's gateway. */
export type StageLlm = Awaited<ReturnType<typeof startExpertScript>> & {
  hostUrl: string
  containerUrl: string
}

export interface UserStage extends AsyncDisposable {
  /** the machine's folder: `bin/` (on PATH), `home/`, `node_modules/perstack`, and the user's folders */
  root: string
  /** the environment a user's shell has, with `extra` on top */
  env(extra?: Record<string, string>): Record<string, string>
  /**
   * A folder of the user's with these files. One mounted into a container is owned by uid 1000, as a user's own
   * folder is (these machines run the tests as root, and the container's sandboxes run as the workspace's owner);
   * one the CLI uses on the host is the test user's own.
   */
  dir(name: string, files?: Record<string, string>, options?: { mounted?: boolean }): Promise<string>
  /** runs the script in bash, as a user types it */
  shell(script: string, cwd: string, env?: Record<string, string>, timeoutMs?: number): Promise<ShellResult>
  /** runs the script in a terminal (tmux), as a user types it: for `perstack start` and `docker run -it` */
  terminal(script: string, cwd: string, env?: Record<string, string>): Promise<TmuxSession>
  scripted(replies: ExpertReplies): Promise<StageLlm>
}

/** Makes the machine (needs dist/ and a Docker engine); disposing it removes it and what its docker commands made. */
export async function createUserStage(name: string): Promise<UserStage> {
  const root = await realpath(await mkdtemp(path.join(tmpdir(), `perstack-${name}-`)))
  await mkdir(path.join(root, "bin"))
  await mkdir(path.join(root, "home"))
  await mkdir(path.join(root, "node_modules/.bin"), { recursive: true })
  await writeFile(path.join(root, "package.json"), '{ "private": true }\n')
  await symlink(repo, path.join(root, "node_modules/perstack"))
  await symlink("../perstack/dist/perstack.js", path.join(root, "node_modules/.bin/perstack"))
  await symlink(path.join(repo, "dist/perstack.js"), path.join(root, "bin/perstack"))
  // What the docs' docker commands create carries this session's label, so disposing removes exactly that. The
  // docker CLI behind it is the user's (the first on PATH): the docs' `-v ./dir:` needs Docker 23 or later.
  const realDocker = (await exec("bash", ["-c", "command -v docker"])).stdout.trim()
  await writeFile(
    path.join(root, "bin/docker"),
    `#!/bin/bash
case "$1" in
  run|build) sub=$1; shift; exec ${realDocker} "$sub" --label "${SESSION_LABEL}=$SEED_TEST_SESSION" "$@" ;;
  *) exec ${realDocker} "$@" ;;
esac
`,
  )
  await chmod(path.join(root, "bin/docker"), 0o755)
  // Where containers reach the host: the bridge's gateway, or its subnet's first address where Docker (20.10) lists
  // only the subnet; the orchestrator's own lookup.
  const bridgeGateway = await bridgeAddress(docker)
  if (!bridgeGateway) throw new Error("Docker's default bridge has neither a gateway nor an IPv4 subnet")

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: `${path.join(root, "bin")}:${process.env.PATH}`,
    HOME: path.join(root, "home"),
    NPM_CONFIG_UPDATE_NOTIFIER: "false",
    NO_UPDATE_NOTIFIER: "1",
    SEED_TEST_SESSION: SESSION,
    ...extra,
  })

  return {
    root,
    env,
    dir: async (folder, files = {}, { mounted = false } = {}) => {
      const dir = path.join(root, folder)
      await mkdir(dir, { recursive: true })
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true })
        await writeFile(path.join(dir, file), content)
      }
      if (mounted && process.getuid?.() === 0) await exec("chown", ["-R", "1000:1000", dir])
      return dir
    },
    shell: (script, cwd, extra = {}, timeoutMs = 180_000) =>
      new Promise<ShellResult>((resolve, reject) => {
        const child = spawn("bash", ["-c", script], {
          cwd,
          env: env(extra),
          stdio: ["ignore", "pipe", "pipe"],
        })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8")
        })
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString("utf8")
        })
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
        child.on("error", reject)
        child.on("close", (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
      }),
    terminal: (script, cwd, extra = {}) =>
      startTmux({ command: ["bash", "-c", script], cwd, env: env(extra), width: 140, height: 45 }),
    scripted: async (replies) => {
      const llm = await startExpertScript(replies, { host: "0.0.0.0" })
      const port = new URL(llm.url).port
      return Object.assign(llm, {
        hostUrl: `http://127.0.0.1:${port}/v1`,
        containerUrl: `http://${bridgeGateway}:${port}/v1`,
      })
    },
    [Symbol.asyncDispose]: async () => {
      await sweepSession()
      const images = await docker.listImages({ filters: { label: [`${SESSION_LABEL}=${SESSION}`] } })
      for (const image of images)
        await docker
          .getImage(image.Id)
          .remove({ force: true })
          .catch(() => undefined)
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** The NDJSON events among a command's stdout lines. */
export const events = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string })

/** The Experts whose sandboxes started, in order. */
export const startedExperts = (list: ReturnType<typeof events>) =>
  list.filter((event) => event.type === "sandboxStarted").map((event) => event.expertKey)

/** The fitness assistant's recorded conversation (what `make demo` replays without a key). */
export async function recordedFitness(): Promise<ExpertReplies> {
  const file = path.join(repo, "examples/fitness-assistant/recorded-conversation.json")
  return (JSON.parse(await readFile(file, "utf8")) as { experts: ExpertReplies }).experts
}

/** Lines of a script, as a user types them one after another. */
export const lines = (...parts: string[]) => parts.join("\n")

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })
}
