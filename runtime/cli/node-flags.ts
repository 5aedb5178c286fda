// Node flags the runtime is started with, wherever it runs (shebang, local processes, containers, pods).

/**
 * `--max-semi-space-size=1`: a 1 MB young generation saves ~5 MB of peak RSS at no measurable CPU cost, since
 * a run mostly waits on the LLM (measured with `npm run bench`). V8 reads it only from the command line.
 * (No WebAssembly flags: the runtime's HTTP client avoids undici's WebAssembly parser, see llm/node-fetch.ts.)
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1"]

/** The `perstack` CLI's own flags (its shebang): see scripts/bench/job-ingest.ts for the measurement. */
export const ORCHESTRATOR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1"]
