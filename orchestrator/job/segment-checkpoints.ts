// The checkpoints a segment's sandbox prints, as records: each must continue a conversation the segment knows (the
// one its RunSpec input names, or a checkpoint it printed before), so the store can always put it back together.
import type { Checkpoint, CheckpointRecord } from "../../runtime/protocol/checkpoint.ts"
import type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
import { checkpointRecordsOf, HistoryIndex } from "../../runtime/protocol/history-index.ts"
import type { Message } from "../../runtime/protocol/message.ts"
import type { RunSpec } from "../../runtime/protocol/run-spec.ts"

export class SegmentCheckpoints {
  /** in memory: one array per conversation, so a long run costs its length, not its square */
  readonly #index: HistoryIndex

  constructor(spec: RunSpec) {
    this.#index = HistoryIndex.forInput(spec.input)
  }

  /** Why the event's checkpoints cannot be taken (an untrusted sandbox may name anything), or undefined. */
  problem(event: PerstackEvent): string | undefined {
    // In order: a continueToNextStep's nextCheckpoint continues its checkpoint. Lengths by id of the ones before.
    const earlier = new Map<string, number>()
    for (const record of checkpointRecordsOf(event)) {
      const { checkpointId, messageCount, newMessages } = record.history
      const length = checkpointId === undefined ? undefined : earlier.get(checkpointId)
      const problem =
        length === undefined
          ? this.#index.problem(record.history)
          : messageCount > length
            ? `history keeps ${messageCount} messages of checkpoint ${checkpointId}, which has ${length}`
            : undefined
      if (problem) return `checkpoint ${record.id}: ${problem}`
      earlier.set(record.id, messageCount + newMessages.length)
    }
    return undefined
  }

  /** Indexes the event's checkpoints; call after `problem` said none. */
  take(event: PerstackEvent): void {
    for (const record of checkpointRecordsOf(event)) this.#index.add(record)
  }

  /** A record of this segment (or one continuing what it knows), whole. */
  whole(record: CheckpointRecord): Checkpoint {
    return this.#index.whole(record)
  }

  messagesOf(checkpointId: string): Message[] {
    return this.#index.messagesOf(checkpointId)
  }
}
