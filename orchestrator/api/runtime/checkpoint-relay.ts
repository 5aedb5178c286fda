// Hands every checkpoint a job stores to the caller's storeCheckpoint, whole and in order, as the job goes.
import type { Checkpoint } from "../../../runtime/protocol/checkpoint.ts"
import type { PerstackEvent } from "../../../runtime/protocol/events/index.ts"
import { isTerminalEvent } from "../../../runtime/protocol/events/terminal.ts"
import { HistoryIndex } from "../../../runtime/protocol/history-index.ts"
import { resolveCheckpoint } from "../../store/checkpoint-chain.ts"
import type { JobStore } from "../../store/job-store.ts"

export class CheckpointRelay {
  readonly #store: JobStore
  readonly #jobId: string
  readonly #deliver: (checkpoint: Checkpoint) => Promise<void> | void
  /** ids of checkpoints the store holds that are not the job's own work (those it was seeded with) */
  readonly #done: Set<string>
  /** one index for the whole job: each conversation is put together once, not once per checkpoint */
  readonly #index = new HistoryIndex()
  readonly #pending: string[] = []

  constructor(options: {
    store: JobStore
    jobId: string
    storeCheckpoint: (checkpoint: Checkpoint) => Promise<void> | void
    skip?: Iterable<string>
  }) {
    this.#store = options.store
    this.#jobId = options.jobId
    this.#deliver = options.storeCheckpoint
    this.#done = new Set(options.skip)
  }

  /** Called with each event: the ones that carry a stored checkpoint (a step's end, a run's end) hand it on. */
  async observe(event: PerstackEvent): Promise<void> {
    if (event.type !== "continueToNextStep" && !isTerminalEvent(event)) return
    this.#pending.push(event.checkpoint.id)
    await this.#flush()
  }

  /** After the job: what is still pending, and any checkpoint the store got without an event (a closed crash). */
  async finish(): Promise<void> {
    await this.#flush()
    for (const checkpoint of await this.#store.listCheckpoints(this.#jobId)) {
      if (!this.#done.has(checkpoint.id)) await this.#hand(checkpoint)
    }
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const id = this.#pending[0] as string
      if (this.#done.has(id)) {
        this.#pending.shift()
        continue
      }
      const checkpoint = await resolveCheckpoint({
        id,
        index: this.#index,
        load: (next) => this.#store.readCheckpointFile(this.#jobId, next),
        fileOf: (next) => this.#store.paths.checkpointFile(this.#jobId, next),
      })
      // A crash's synthesized end is stored just after its event: it goes out with the next event, or at the end.
      if (!checkpoint) return
      this.#pending.shift()
      await this.#hand(checkpoint)
    }
  }

  async #hand(checkpoint: Checkpoint): Promise<void> {
    this.#done.add(checkpoint.id)
    await this.#deliver(checkpoint)
  }
}
