// Test support: drives a command in a real terminal (tmux), sending keys and reading the screen like a person would.
// Every session has its own tmux server socket, so tests never touch a user's tmux, and are killed afterwards.
import { execFile, execFileSync } from "node:child_process"
import { promisify } from "node:util"

const exec = promisify(execFile)

export function tmuxAvailable(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

let sessions = 0

export interface TmuxSession extends AsyncDisposable {
  /** keys by tmux name: "Enter", "Up", "C-c", ... */
  keys(...keys: string[]): Promise<void>
  /** literal text, as typed */
  type(text: string): Promise<void>
  /** the screen as text, lines trimmed on the right */
  screen(): Promise<string>
  /** polls the screen until `what` appears (no timing is asserted: the timeout only bounds a hang) */
  waitFor(what: string | RegExp, timeoutMs?: number): Promise<string>
  /** waits for the command to end (it prints `[exit N]`), and returns N */
  exitCode(timeoutMs?: number): Promise<number>
}

export async function startTmux(options: {
  command: string[]
  cwd: string
  env?: Record<string, string>
  width?: number
  height?: number
}): Promise<TmuxSession> {
  const socket = `perstack-tui-test-${process.pid}-${++sessions}`
  const tmux = (...args: string[]) => exec("tmux", ["-L", socket, "-f", "/dev/null", ...args])
  const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`
  // CI set makes Ink draw only its last frame; the pane must look like a person's terminal.
  const env = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${quote(value)}`)
  const line = `env -u CI TERM=xterm-256color ${env.join(" ")} ${options.command.map(quote).join(" ")}; echo "[exit $?]"; sleep 600`
  await tmux(
    "new-session",
    "-d",
    "-s",
    "test",
    "-x",
    String(options.width ?? 120),
    "-y",
    String(options.height ?? 40),
    "-c",
    options.cwd,
    line,
  )
  const screen = async () =>
    (await tmux("capture-pane", "-p", "-t", "test")).stdout
      .split("\n")
      .map((text) => text.trimEnd())
      .join("\n")
      .trimEnd()
  const waitFor = async (what: string | RegExp, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    let last = ""
    while (Date.now() < deadline) {
      last = await screen()
      if (typeof what === "string" ? last.includes(what) : what.test(last)) return last
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
    throw new Error(`the screen never showed ${String(what)}; it shows:\n${last}`)
  }
  return {
    keys: async (...keys) => void (await tmux("send-keys", "-t", "test", ...keys)),
    type: async (text) => void (await tmux("send-keys", "-t", "test", "-l", text)),
    screen,
    waitFor,
    exitCode: async (timeoutMs) => {
      const match = /\[exit (\d+)\]/.exec(await waitFor(/\[exit \d+\]/, timeoutMs))
      return Number(match?.[1])
    },
    [Symbol.asyncDispose]: async () => {
      await tmux("kill-server").catch(() => undefined)
    },
  }
}
