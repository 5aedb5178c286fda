// Node flags the runtime is started with, wherever it runs (shebang, local processes, containers, pods).

/**
 * Measured with `npm run bench` (one segment; medians of 15):
 * - `--liftoff-only`: undici parses HTTP with WebAssembly, which V8 otherwise re-compiles with its optimizing
 *   tier on background threads at unpredictable moments: about half the runs peaked 18 MB higher (95 vs
 *   77 MB). Baseline code is plenty for a chat stream; compiling it eagerly costs ~30 ms at start.
 * - `--max-semi-space-size=1`: a 1 MB young generation saves ~5 MB; a run mostly waits on the LLM.
 * V8 reads both only from the command line (v8.setFlagsFromString comes too late).
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--liftoff-only"]
