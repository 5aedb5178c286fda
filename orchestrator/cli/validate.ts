// `perstack validate`: prints the Experts as a delegation tree, or every problem found.
import { ConfigError, formatProblem } from "../config/config-problem.ts"
import { renderExpertTree } from "../config/expert-tree.ts"
import { loadConfig } from "../config/load-config.ts"

export interface CommandIo {
  cwd: string
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** Returns the exit code: 0 valid, 1 invalid. */
export async function validateCommand(options: { config?: string }, io: CommandIo): Promise<number> {
  try {
    const loaded = await loadConfig({ configPath: options.config, cwd: io.cwd })
    const count = Object.keys(loaded.config.experts).length
    // Drawn before "valid" is printed: whatever the tree's shape, nothing is said that is not finished.
    const tree = count > 0 ? `${renderExpertTree(loaded.config)}\n` : ""
    io.stdout(`${loaded.file}: valid, ${count} Expert${count === 1 ? "" : "s"}\n${tree}`)
    for (const warning of loaded.warnings) io.stderr(`warning: ${formatProblem(warning)}\n`)
    return 0
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const count = error.problems.length
    io.stderr(`${error.message}\n${count} problem${count === 1 ? "" : "s"} found\n`)
    return 1
  }
}
