import { readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { perstackCli } from "../testing/cli-harness.ts"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace } from "../testing/job-harness.ts"
import { WorkspaceGuard } from "./workspace-guard.ts"

const EXPERT = `[experts."writer"]\ninstruction = "Write."\n`

describe("the inputs a job was started with", () => {
  it("are recorded; a continue after perstack.toml or .env changed is refused and changes nothing, unless accepted", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ writer: [{ text: "first" }, { text: "second" }] })
    const toml = configText(llm.url, EXPERT)
    await writeFile(path.join(ws.dir, "perstack.toml"), toml)
    await writeFile(path.join(ws.dir, ".env"), "OPENAI_API_KEY=sk-test-user-key\n")
    const args = ["--workspace", ws.dir, "--max-retries", "0"]
    const first = await perstackCli(ws.dir, ["run", "writer", "Write a poem", ...args])
    expect(first.code).toBe(0)
    const [job] = await ws.store.listJobs()
    expect(job?.inputs?.map((input) => [input.path, input.role, input.digest !== null])).toEqual([
      ["perstack.toml", "config", true],
      ["perstack.lock", "lock", false],
      [".env", "env", true],
      [".env.local", "env", false],
    ])
    const jobFile = path.join(ws.dir, "perstack", "jobs", job?.id ?? "", "job.json")
    const before = await readFile(jobFile, "utf8")

    await writeFile(path.join(ws.dir, "perstack.toml"), `${toml}\n# edited\n`)
    await writeFile(path.join(ws.dir, ".env.local"), "OPENAI_BASE_URL=http://127.0.0.1:9/v1\n")
    const refused = await perstackCli(ws.dir, [
      "run",
      "writer",
      "Another",
      "--continue-job",
      job?.id ?? "",
      ...args,
    ])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("perstack.toml changed, .env.local appeared")
    expect(refused.stderr).toContain("--accept-changed-inputs")
    expect(await readFile(jobFile, "utf8")).toBe(before)
    expect(llm.requests).toHaveLength(1)

    await writeFile(path.join(ws.dir, ".env.local"), "")
    const accepted = await perstackCli(ws.dir, [
      "run",
      "writer",
      "Another",
      "--continue-job",
      job?.id ?? "",
      "--accept-changed-inputs",
      ...args,
    ])
    expect(accepted.code).toBe(0)
    const [continued] = await ws.store.listJobs()
    expect(continued?.inputs?.find((input) => input.path === ".env.local")?.digest).not.toBeNull()
  })

  it("a file that appeared while an orchestrator that died had sandboxes running is moved aside by the next command", async () => {
    await using ws = await makeJobWorkspace()
    await using llm = await startExpertScript({ writer: [{ text: "fine" }] })
    await writeFile(path.join(ws.dir, "perstack.toml"), configText(llm.url, EXPERT))
    // As a `perstack run` killed mid-job leaves it: its watch still open, with .env.local absent when it began.
    await WorkspaceGuard.open({
      workspace: ws.dir,
      storeRoot: ws.store.paths.root,
      jobId: "dead-job",
      inputs: [],
      now: 0,
    })
    await writeFile(path.join(ws.dir, ".env.local"), "OPENAI_BASE_URL=http://127.0.0.1:9/v1\n")

    const next = await perstackCli(ws.dir, ["run", "writer", "Go", "--workspace", ws.dir], {
      OPENAI_API_KEY: "sk-test-user-key",
    })
    expect(next.code).toBe(0)
    expect(next.stderr).toContain(
      ".env.local appeared while job dead-job's sandboxes could write the workspace",
    )
    expect(await readFile(path.join(ws.dir, ".env.local.untrusted-dead-job"), "utf8")).toContain(
      "127.0.0.1:9",
    )
    // The run reached the scripted LLM, not the planted address.
    expect(llm.requests).toHaveLength(1)
  })
})
