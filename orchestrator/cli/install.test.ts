// `perstack install` against real MCP servers, then a run with its lock: tools from the lock, lazy start, pinned npx.
import { execFileSync } from "node:child_process"
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { lockfileSchema } from "../../runtime/protocol/lockfile.ts"
import { fixtureServerPath } from "../../runtime/testing/mcp-servers/stdio-fixture.ts"
import { eventsOf, runScriptedSegment } from "../../runtime/testing/run-harness.ts"
import { buildRunSpec } from "../../runtime/testing/run-spec-builder.ts"
import { startScriptedLlmServer } from "../../runtime/testing/scripted-llm/scripted-llm-server.ts"
import { lockForRun, skillLocksFor } from "../install/lock-for-run.ts"
import { readLockfile } from "../install/lockfile-store.ts"
import { installCommand } from "./install.ts"
import { main } from "./main.ts"

const npxOnPath = (() => {
  try {
    execFileSync("npx", ["--version"], { stdio: "ignore", env: { PATH: process.env.PATH ?? "" } })
    return true
  } catch {
    return false
  }
})()

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/**
 * A project folder with `fixture-exa-mcp@1.2.3` installed in its node_modules (by hand: no registry, no network),
 * whose binary runs the local stand-in for exa-mcp-server. npx finds a locally installed package first.
 */
async function project(toml: string) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-install-")))
  dirs.push(dir)
  const pkg = path.join(dir, "node_modules", "fixture-exa-mcp")
  await mkdir(path.join(pkg, "bin"), { recursive: true })
  await writeFile(
    path.join(pkg, "package.json"),
    JSON.stringify({
      name: "fixture-exa-mcp",
      version: "1.2.3",
      bin: { "fixture-exa-mcp": "bin/server.sh" },
    }),
  )
  await writeFile(
    path.join(pkg, "bin", "server.sh"),
    `#!/bin/sh\nexec "${process.execPath}" "${fixtureServerPath("news")}" "$@"\n`,
  )
  await chmod(path.join(pkg, "bin", "server.sh"), 0o755)
  await mkdir(path.join(dir, "node_modules", ".bin"))
  await symlink("../fixture-exa-mcp/bin/server.sh", path.join(dir, "node_modules", ".bin", "fixture-exa-mcp"))
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "workspace", private: true }))
  await writeFile(path.join(dir, "perstack.toml"), toml)
  // npm's own files (cache, logs) stay in the project, not in the user's home.
  const env = { PATH: process.env.PATH ?? "", HOME: dir, EXA_API_KEY: "exa-key-123" }
  return { dir, configFile: path.join(dir, "perstack.toml"), env }
}

const TOML = `
[experts."news-researcher"]
description = "Researches latest news on a topic"
instruction = "Search the web and save a report."

[experts."news-researcher".skills."web-search"]
type = "mcpStdioSkill"
command = "npx"
packageName = "fixture-exa-mcp"
requiredEnv = ["EXA_API_KEY"]

[experts."news-researcher".skills."docs"]
type = "mcpStdioSkill"
command = "${process.execPath}"
args = ["${fixtureServerPath("tools")}"]

[experts."editor"]
instruction = "Edit."

[experts."editor".skills."docs"]
type = "mcpStdioSkill"
command = "${process.execPath}"
args = ["${fixtureServerPath("tools")}"]
`

async function install(dir: string, env: Record<string, string>) {
  let stdout = ""
  let stderr = ""
  const code = await installCommand(
    {},
    {
      cwd: dir,
      env,
      stdout: (text) => {
        stdout += text
      },
      stderr: (text) => {
        stderr += text
      },
    },
  )
  return { code, stdout, stderr }
}

describe.runIf(npxOnPath)("perstack install", () => {
  it("locks each server's tools and the exact npx version; a run then starts servers only when called", async () => {
    const { dir, configFile, env } = await project(TOML)
    const installed = await install(dir, env)
    expect(installed.stderr).toBe("")
    expect(installed.code).toBe(0)
    expect(installed.stdout).toContain("news-researcher / web-search: fixture-exa-mcp@1.2.3, 2 tools")
    // Declared twice, started once.
    expect(installed.stdout).toContain("news-researcher / docs, editor / docs: tools-server, 4 tools")
    expect(installed.stdout).toContain(`${path.join(dir, "perstack.lock")}: written, 2 servers, 6 tools`)

    const lockfile = lockfileSchema.parse(JSON.parse(await readFile(path.join(dir, "perstack.lock"), "utf8")))
    expect(lockfile.configFile).toBe("perstack.toml")
    expect(lockfile.experts["news-researcher"]?.skills["web-search"]).toMatchObject({
      package: "fixture-exa-mcp@1.2.3",
      serverInfo: { name: "exa-search-server", version: "3.1.0" },
      tools: [
        { name: "web_search_exa", description: "Search the web", inputSchema: expect.objectContaining({}) },
        {
          name: "environment",
          description: "Its whole environment, as JSON",
          inputSchema: expect.any(Object),
        },
      ],
    })
    expect(lockfile.experts.editor?.skills.docs).toEqual(lockfile.experts["news-researcher"]?.skills.docs)

    // The run: the orchestrator hands the fresh lock's entries to the RunSpec.
    const lock = await lockForRun({ configFile, configText: await readFile(configFile, "utf8") })
    expect(lock.stale).toBeUndefined()
    const skillLocks = lock.lockfile ? skillLocksFor(lock.lockfile, "news-researcher") : undefined
    await using llm = await startScriptedLlmServer({
      steps: [
        { toolCalls: [{ name: "web-search__web_search_exa", arguments: { query: "AI funding" } }] },
        { text: "done" },
      ],
    })
    const { parse } = await import("smol-toml")
    const skills = (parse(TOML) as { experts: Record<string, { skills: Record<string, unknown> }> }).experts[
      "news-researcher"
    ]?.skills
    const spec = buildRunSpec({
      workspace: dir,
      llmUrl: llm.url,
      expert: { key: "news-researcher", name: "news-researcher", skills: skills as never },
    })
    const result = await runScriptedSegment({ ...spec, skillLocks }, { env })

    const types = result.types
    // Nothing started before the first LLM request; web-search started at its call; docs never.
    expect(types.indexOf("skillStarting")).toBeGreaterThan(types.indexOf("startGeneration"))
    expect(types.slice(types.indexOf("callTools"), types.indexOf("callTools") + 5)).toEqual([
      "callTools",
      "skillStarting",
      "skillConnected",
      "recordToolResult",
      "resolveToolResults",
    ])
    expect(eventsOf(result, "skillStarting")).toEqual([
      expect.objectContaining({
        skillName: "web-search",
        command: "npx",
        args: ["-y", "fixture-exa-mcp@1.2.3"],
      }),
    ])
    const [resolved] = eventsOf(result, "resolveToolResults")
    expect(resolved?.toolResults[0]?.isError).toBeFalsy()
    expect(JSON.stringify(resolved?.toolResults[0]?.result)).toContain("news.example.com/acme")
    expect(result.terminal.type).toBe("completeRun")

    // Any edit of perstack.toml makes the lock stale: reported, not used.
    const edited = `${await readFile(configFile, "utf8")}\n# a comment\n`
    const stale = await lockForRun({ configFile, configText: edited })
    expect(stale.lockfile).toBeUndefined()
    expect(stale.stale).toMatch(/^perstack\.lock is stale: perstack\.toml changed after `perstack install`/)
  })

  it("reads requiredEnv from the files --env-path names, and refuses one that is missing", async () => {
    const { dir, env } = await project(TOML)
    const { EXA_API_KEY: _, ...without } = env
    await writeFile(path.join(dir, "secrets.env"), "EXA_API_KEY=exa-from-file\n")
    let stdout = ""
    let stderr = ""
    const io = {
      cwd: dir,
      env: without,
      stdout: (text: string) => {
        stdout += text
      },
      stderr: (text: string) => {
        stderr += text
      },
    }
    expect(await main(["install", "--env-path", "missing.env"], io)).toBe(2)
    expect(stderr).toContain(`${path.join(dir, "missing.env")}: cannot read the env file`)
    expect(await readLockfile({ configFile: path.join(dir, "perstack.toml") })).toBeUndefined()

    stderr = ""
    expect(await main(["install", "--env-path", "secrets.env"], io)).toBe(0)
    expect(stderr).toBe("")
    expect(stdout).toContain("news-researcher / web-search: fixture-exa-mcp@1.2.3, 2 tools")
  })

  it("names a missing requiredEnv variable and writes nothing", async () => {
    const { dir, env } = await project(TOML)
    const { EXA_API_KEY: _, ...without } = env
    const installed = await install(dir, without)
    expect(installed.code).toBe(1)
    expect(installed.stderr).toContain(
      'news-researcher / web-search: did not start: skill "web-search" needs the environment variable EXA_API_KEY (requiredEnv), which is not set',
    )
    expect(installed.stderr).toContain("1 skill did not start; perstack.lock was not written")
    expect(await readLockfile({ configFile: path.join(dir, "perstack.toml") })).toBeUndefined()
  })
})

describe("perstack.lock", () => {
  it("a broken lockfile is reported with its key path", async () => {
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), "perstack-lock-")))
    dirs.push(dir)
    await writeFile(
      path.join(dir, "perstack.lock"),
      JSON.stringify({
        protocolVersion: 1,
        configFile: "perstack.toml",
        configHash: `sha256:${"0".repeat(64)}`,
        generatedBy: "perstack 0.1.0",
        experts: { writer: { skills: { docs: { tools: [{ name: 42, inputSchema: {} }] } } } },
      }),
    )
    await expect(readLockfile({ configFile: path.join(dir, "perstack.toml") })).rejects.toThrow(
      `${path.join(dir, "perstack.lock")}: experts."writer".skills."docs".tools[0].name: Invalid input: expected string, received number`,
    )
  })
})
