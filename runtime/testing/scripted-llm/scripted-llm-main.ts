// CLI for end-to-end tests: `node scripted-llm-main.ts SCRIPT.json [--port N] [--host H] [--api-key K]` serves a script file.
// Prints one line `{"url": "..."}` on stdout once listening; stops on SIGTERM or SIGINT.
import { readFile } from "node:fs/promises"
import { parseArgs } from "node:util"
import { z } from "zod"
import { startScriptedLlmServer } from "./scripted-llm-server.ts"
import { type ScriptedReply, scriptedReplySchema } from "./scripted-reply.ts"

const USAGE = "usage: node scripted-llm-main.ts SCRIPT.json [--port N] [--host H] [--api-key KEY]"

const scriptFileSchema = z.array(scriptedReplySchema)

class UsageError extends Error {
  override readonly name = "UsageError"
}

async function loadScript(file: string): Promise<ScriptedReply[]> {
  const text = await readFile(file, "utf8")
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const result = scriptFileSchema.safeParse(json)
  if (!result.success) {
    throw new Error(`${file} is not an array of scripted replies:\n${z.prettifyError(result.error)}`)
  }
  return result.data
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port expects an integer from 0 to 65535, got ${JSON.stringify(value)}`)
  }
  return port
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCommandLine>
  try {
    parsed = parseCommandLine()
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const [scriptFile, ...extra] = positionals
  if (scriptFile === undefined || extra.length > 0) throw new UsageError("expected exactly one SCRIPT.json")
  const port = parsePort(values.port)
  const server = await startScriptedLlmServer({
    steps: await loadScript(scriptFile),
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values["api-key"] === undefined ? {} : { apiKey: values["api-key"] }),
  })
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`scripted-llm: ${signal}: stopping with ${server.remaining()} step(s) unused\n`)
    void server.close()
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)
}

function parseCommandLine() {
  return parseArgs({
    options: { port: { type: "string" }, host: { type: "string" }, "api-key": { type: "string" } },
    allowPositionals: true,
  })
}

main().catch((error: unknown) => {
  const usage = error instanceof UsageError ? `\n${USAGE}` : ""
  process.stderr.write(`scripted-llm: ${error instanceof Error ? error.message : String(error)}${usage}\n`)
  process.exitCode = error instanceof UsageError ? 2 : 1
})
