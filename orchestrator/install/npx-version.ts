// The exact version `npx` runs for a package spec: npx is asked to run a one-line Node script next to the
// package, which reads the package.json npx would use (a locally installed copy, or npx's own cache).
import { execFile } from "node:child_process"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

const MARKER = "PERSTACK_RESOLVED "

/**
 * npx puts the bin folder of what it installed first on PATH, then each project's node_modules/.bin: the first
 * of those that holds the package is the copy npx runs.
 */
const PROBE = `const path = require("node:path"), fs = require("node:fs");
const name = process.argv[1];
for (const dir of (process.env.PATH || "").split(path.delimiter)) {
  if (path.basename(dir) !== ".bin" || path.basename(path.dirname(dir)) !== "node_modules") continue;
  let version;
  try { version = JSON.parse(fs.readFileSync(path.join(dir, "..", name, "package.json"), "utf8")).version } catch { continue }
  process.stdout.write(${JSON.stringify(MARKER)} + JSON.stringify({ version }) + "\\n");
  process.exit(0);
}
process.exit(3);`

export async function resolveNpxVersion(options: {
  /** the npx command as the skill runs it */
  npx: string
  /** as written in perstack.toml: `exa-mcp-server`, `exa-mcp-server@^1`, `@scope/pkg@latest` */
  spec: string
  name: string
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  signal?: AbortSignal
}): Promise<string> {
  const args = ["-y", "--package", options.spec, "--", process.execPath, "-e", PROBE, options.name]
  const { stdout, stderr, error } = await new Promise<{
    stdout: string
    stderr: string
    error: Error | null
  }>((resolve) => {
    execFile(
      options.npx,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 1024 * 1024,
        signal: options.signal,
      },
      (failure, out, err) => resolve({ stdout: String(out), stderr: String(err), error: failure }),
    )
  })
  const line = stdout.split("\n").find((entry) => entry.startsWith(MARKER))
  const version = line ? (JSON.parse(line.slice(MARKER.length)) as { version?: unknown }).version : undefined
  if (typeof version === "string" && version !== "") return version
  const tail = stderr.trim().split("\n").slice(-5).join("\n")
  throw new PerstackError(
    "install.npxResolve",
    `cannot tell which version of ${options.spec} npx runs (${error ? error.message.split("\n")[0] : "no answer"})${tail ? `:\n${tail}` : ""}`,
    { cause: error },
  )
}
