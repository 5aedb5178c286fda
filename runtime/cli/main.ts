// `perstack-runtime [RUNSPEC.json | -]`: runs one segment of one Expert; events on stdout, diagnostics on stderr.
import { PerstackError } from "../errors/perstack-error.ts"
import { newId } from "../ids.ts"
import { createLlmClient } from "../llm/generate.ts"
import { resolveProvider } from "../llm/resolve-provider.ts"
import { runSegment } from "../loop/run-segment.ts"
import type { PerstackEvent } from "../protocol/events/index.ts"
import { EXIT_EVENT_TOO_LARGE } from "../protocol/limits.ts"
import { PROTOCOL_VERSION } from "../protocol/version.ts"
import { loadLazySkillModules } from "../skills/skill-set.ts"
import { RUNTIME_VERSION } from "../version.ts"
import { AckChannel } from "./ack-channel.ts"
import { HttpAckChannel } from "./http-ack-channel.ts"
import { startLoopbackRelays } from "./loopback-relays.ts"
import { createNdjsonWriter } from "./ndjson-writer.ts"
import { writeProcessStats } from "./process-stats.ts"
import { readRunEnv, readRunSpec } from "./read-run-spec.ts"
import { rehearse } from "./warm-rehearsal.ts"

const USAGE = `usage: perstack-runtime [RUNSPEC.json | -]
Runs one segment of one Expert from a RunSpec (a file, or stdin when omitted or "-").
Every event is printed as one JSON line on stdout; diagnostics go to stderr.`

/**
 * Exit codes: 0 after the terminal event, 2 bad invocation or RunSpec, 3 cannot start (e.g. missing API key), 4 an
 * event too large to print (retrying would only hit it again: EXIT_EVENT_TOO_LARGE), 1 crash.
 */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stderr.write(`${USAGE}\n`)
    return 0
  }
  if (argv[0] === "--warm-compile-cache") {
    // For the orchestrator: load every module a run may load, so Node's compile cache holds them all.
    await loadLazySkillModules()
    return 0
  }
  if (argv.includes("--version")) {
    process.stderr.write(`${RUNTIME_VERSION}\n`)
    return 0
  }
  if (argv.length > 1 || argv.some((arg) => arg.startsWith("-") && arg !== "-")) {
    process.stderr.write(`perstack-runtime: unexpected arguments: ${argv.join(" ")}\n${USAGE}\n`)
    return 2
  }
  const controller = new AbortController()
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`perstack-runtime: ${signal} received, stopping the run\n`)
    controller.abort(new PerstackError("run.cancelled", `stopped by ${signal}`))
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  let acks: AckChannel | HttpAckChannel | undefined
  let relays: { close(): void } | undefined
  let heartbeat: NodeJS.Timeout | undefined
  // PERSTACK_ACK=stdin: the orchestrator acknowledges each stored tool call on stdin (see ack-channel.ts);
  // PERSTACK_ACK=http: through its LLM gateway, asked with the run's token (see http-ack-channel.ts).
  const acknowledged = process.env.PERSTACK_ACK === "stdin"
  try {
    // A local sandbox without a network of its own reaches the orchestrator's services only through these.
    relays = await startLoopbackRelays(process.env.PERSTACK_LOOPBACK_RELAYS)
    // PERSTACK_WARM=1: started ahead of its run, this process gets its run's own variables (its gateway token) on
    // stdin, just before the RunSpec, and never had them in its environment.
    if (process.env.PERSTACK_WARM === "1") {
      // While it waits, it rehearses its run's path (see warm-rehearsal.ts); its run, once here, stops that at once.
      // A run that was here before this process had loaded (claimed as it launched) has nothing to wait for.
      const arrived = new AbortController()
      const read = readRunEnv(process.stdin).finally(() => arrived.abort())
      // Its failure is thrown where it is awaited, below; not reported as unhandled meanwhile.
      read.catch(() => {})
      await new Promise((resolve) => setImmediate(resolve))
      const rehearsal = arrived.signal.aborted ? undefined : rehearse(process.cwd(), arrived.signal)
      const runEnv = await read
      await rehearsal
      Object.assign(process.env, runEnv)
    }
    const spec = await readRunSpec({ file: argv[0], stdin: process.stdin, firstLineOnly: acknowledged })
    acks = acknowledged ? new AckChannel(process.stdin) : undefined
    const provider = resolveProvider({
      provider: spec.provider,
      env: process.env,
      baseUrlOverride: spec.llmBaseUrl,
    })
    if (process.env.PERSTACK_ACK === "http") acks = new HttpAckChannel(provider.baseUrl, provider.apiKey)
    const llm = createLlmClient({
      provider,
      model: spec.model,
      reasoningBudget: spec.reasoningBudget,
      timeoutMs: spec.limits.timeout,
      maxRetries: spec.limits.maxRetries,
    })
    const channel = acks
    // PERSTACK_EVENTS=ascii: set by the kubernetes backend, whose log pipeline cuts long lines anywhere.
    const emit = createNdjsonWriter(process.stdout, { ascii: process.env.PERSTACK_EVENTS === "ascii" })
    heartbeat = startHeartbeat(emit, spec, process.env.PERSTACK_HEARTBEAT_MS)
    await runSegment({
      spec,
      llm,
      emit,
      env: process.env,
      signal: controller.signal,
      ...(channel ? { acknowledged: (eventId: string) => channel.wait(eventId) } : {}),
    })
    return 0
  } catch (error) {
    if (error instanceof PerstackError) {
      process.stderr.write(`perstack-runtime: ${error.message}\n`)
      if (error.code === "run.eventTooLarge") return EXIT_EVENT_TOO_LARGE
      return error.code.startsWith("runSpec.") ? 2 : 3
    }
    process.stderr.write(
      `perstack-runtime: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return 1
  } finally {
    clearInterval(heartbeat)
    relays?.close()
    // An open stdin would keep the process alive after the run.
    if (acks) acks.close()
    else if (acknowledged) process.stdin.destroy()
    process.off("SIGTERM", stop)
    process.off("SIGINT", stop)
    // PERSTACK_RUNTIME_STATS=1: resource figures on stderr (npm run bench reads them).
    if (process.env.PERSTACK_RUNTIME_STATS === "1") writeProcessStats("perstack-runtime")
  }
}

/**
 * PERSTACK_HEARTBEAT_MS: a heartbeat event that often, whatever the run is doing (a long tool call, a slow model),
 * so the orchestrator knows a sandbox that says nothing for longer is stuck (frozen, spinning, cut off).
 */
function startHeartbeat(
  emit: (event: PerstackEvent) => Promise<void>,
  spec: { jobId: string; runId: string },
  every: string | undefined,
): NodeJS.Timeout | undefined {
  const ms = Number(every)
  if (!Number.isInteger(ms) || ms <= 0) return undefined
  const timer = setInterval(() => {
    const beat = { protocolVersion: PROTOCOL_VERSION, id: newId(), type: "heartbeat", timestamp: Date.now() }
    // A closed stdout is the orchestrator gone: the run's own writes report that.
    emit({ ...beat, jobId: spec.jobId, runId: spec.runId } as PerstackEvent).catch(() => {})
  }, ms)
  timer.unref()
  return timer
}
