import { describe, expect, it } from "vitest"
import { lastInput, startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const FAILING_SERVER = ['console.error("db-server: DATABASE_URL is not set")', "process.exit(1)"].join(";")

const TEAM = `[experts."lead"]
instruction = "Lead."
delegates = ["analyst"]

[experts."analyst"]
instruction = "Analyse."

[experts."analyst".skills."db"]
type = "mcpStdioSkill"
command = "${process.execPath}"
args = ["-e", ${JSON.stringify(FAILING_SERVER)}]
`

describe("a skill whose server cannot start", () => {
  it("is a run error the parent reads (which skill, and why), not a crashed sandbox to retry", async () => {
    await using ws = await makeJobWorkspace()
    let answer = ""
    await using llm = await startExpertScript({
      lead: [
        { toolCalls: [{ id: "d", name: "delegate__analyst", arguments: { query: "count the users" } }] },
        (request) => {
          answer = lastInput(request)
          return { text: "the analyst could not work" }
        },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, TEAM),
      expertKey: "lead",
      query: "How many users?",
    })
    expect(result.status).toBe("completed")
    expect(answer).toContain('The delegate "analyst" failed: skill "db" did not start')
    expect(answer).toContain("db-server: DATABASE_URL is not set")

    const analystRuns = (await ws.store.listRuns(result.job.id)).filter((run) => run.expertKey === "analyst")
    expect(analystRuns).toHaveLength(1)
    expect(analystRuns[0]).toMatchObject({
      status: "stoppedByError",
      error: { code: "skill.startFailed", isRetryable: false },
    })
    expect(analystRuns[0]?.error?.message).toContain("db-server: DATABASE_URL is not set")
    // The analyst never asked the model anything.
    expect(llm.byExpert("analyst")).toHaveLength(0)
    const exited = result.events.filter(
      (event) => event.type === "sandboxExited" && event.runId === analystRuns[0]?.id,
    )
    expect(exited).toEqual([expect.objectContaining({ exitCode: 0, reason: "completed" })])
  })
})
