// Sandboxes started ahead of the runs the orchestrator knows are coming: a coordinator's delegates while it thinks,
// and its own resume while its delegates run. The backend's pool (local when isolated, docker) keeps them; a run
// claims one whose shape matches, and gets its gateway token then. A backend without a pool, or a shape that cannot
// be known ahead (an Expert with allowed domains: its proxy token is in its environment), starts cold as before.
import { egressDomains } from "../gateway/domain-allowlist.ts"
import type { JobContext } from "./job-context.ts"
import { expertOf } from "./run-spec-factory.ts"
import { sandboxShape } from "./sandbox-shape.ts"

/** Stands for the run's token while the shape is worked out; never reaches a sandbox. */
const TOKEN_PLACEHOLDER = "pgw-placeholder-of-the-run-s-own-token"

/** Prewarms asked for and not yet handed to the backend, per job. */
const pending = new WeakMap<JobContext, Set<Promise<void>>>()

/**
 * Resolves once every prewarm asked for so far is in the backend's pool (milliseconds: the sandbox itself starts in
 * the background), so a run started after a prewarm for it always finds it.
 */
export async function prewarmsQueued(job: JobContext): Promise<void> {
  await Promise.all(pending.get(job) ?? [])
}

/**
 * Asks the backend for `count` warm sandboxes per Expert key (those already waiting for the same shape count). Never
 * throws, never waits.
 */
export function prewarm(job: JobContext, expertKeys: Iterable<string>, count = 1): void {
  const { backend, gateway, egressProxy, config, workspace } = job.options
  if (!backend.prewarm || job.stopCause) return
  let queued = pending.get(job)
  if (!queued) {
    queued = new Set()
    pending.set(job, queued)
  }
  for (const expertKey of new Set(expertKeys)) {
    const asked = (async () => {
      const expert = expertOf(config, expertKey)
      if (egressProxy && egressDomains(expert).length > 0) return
      const shape = await sandboxShape(job, expertKey, gateway ? TOKEN_PLACEHOLDER : undefined)
      const env = Object.fromEntries(
        Object.entries(shape.env).filter(([name]) => !shape.perRunEnv.includes(name)),
      )
      await backend.prewarm?.(
        {
          env,
          workspace,
          protectedPaths: shape.protectedPaths,
          ...(expert.sandbox ? { settings: expert.sandbox } : {}),
          ...(gateway
            ? { services: { gateway: gateway.url, ...(egressProxy ? { proxy: egressProxy.url } : {}) } }
            : {}),
          jobId: job.job.id,
          expertKey,
        },
        count,
      )
    })().catch(() => {})
    queued.add(asked)
    void asked.then(() => queued.delete(asked))
  }
}
