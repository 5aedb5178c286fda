// The terminal UI's entry, loaded by `perstack start` and the interactive `perstack log` through a dynamic import,
// so that `perstack run` and the library never load Ink or React.
import { render } from "ink"
import type { Job } from "../../runtime/protocol/job.ts"
import type { JobStore } from "../store/job-store.ts"
import { type BaseRequest, StartApp, type StartExit, type StartPhase } from "./start-app.tsx"

export interface StartUiOptions {
  base: BaseRequest
  store: JobStore
  experts: ReadonlyArray<{ key: string; description?: string }>
  jobs: readonly Job[]
  provider?: string
  initial: StartPhase
  signal?: AbortSignal
  stdout?: NodeJS.WriteStream
  stdin?: NodeJS.ReadStream
  /** where the closing line goes (a resume hint, a failure) */
  stderr: (text: string) => void
}

/** Renders until the user quits or the job stops for good; resolves to the exit code. */
export async function startUi(options: StartUiOptions): Promise<number> {
  let ending: StartExit = { code: 0 }
  const warnings: string[] = []
  const instance = render(
    <StartApp
      base={{ ...options.base, onWarning: (message) => warnings.push(message) }}
      store={options.store}
      experts={options.experts}
      jobs={options.jobs}
      initial={options.initial}
      onExit={(exit) => {
        ending = exit
      }}
      {...(options.provider ? { provider: options.provider } : {})}
      {...(options.signal ? { signal: options.signal } : {})}
    />,
    {
      exitOnCtrlC: false,
      ...(options.stdout ? { stdout: options.stdout } : {}),
      ...(options.stdin ? { stdin: options.stdin } : {}),
    },
  )
  await instance.waitUntilExit()
  for (const warning of warnings) options.stderr(`perstack: warning: ${warning}\n`)
  if (ending.message) options.stderr(`${ending.message}\n`)
  return ending.code
}
