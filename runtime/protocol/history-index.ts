// Checkpoint records and whole checkpoints, one into the other: a record's conversation is the first messages of the
// checkpoint it names plus its own new ones, so whoever turns records back into checkpoints keeps an index of them.
import { PerstackError } from "../errors/perstack-error.ts"
import type { Checkpoint, CheckpointHistory, CheckpointRecord, HistoryBase } from "./checkpoint.ts"
import type { PerstackEvent } from "./events/index.ts"
import { isTerminalEvent } from "./events/terminal.ts"
import type { Message } from "./message.ts"
import type { RunInput } from "./run-spec.ts"
import { PROTOCOL_VERSION } from "./version.ts"

/** The record of a whole checkpoint whose first `base.messageCount` messages are stored under `base.checkpointId`. */
export function toCheckpointRecord(checkpoint: Checkpoint, base: HistoryBase): CheckpointRecord {
  const { messages, protocolVersion: _, ...fields } = checkpoint
  if (base.messageCount > messages.length) {
    throw new PerstackError(
      "checkpoint.history",
      `checkpoint ${checkpoint.id} has ${messages.length} messages, fewer than the ${base.messageCount} its history base holds`,
    )
  }
  return {
    protocolVersion: PROTOCOL_VERSION,
    ...fields,
    history: { ...base, newMessages: messages.slice(base.messageCount) },
  }
}

/** The whole checkpoint of a record, given its conversation; the fields in v1's order (messages after stepNumber). */
export function wholeCheckpoint(record: CheckpointRecord, messages: Message[]): Checkpoint {
  const { history: _, protocolVersion, id, jobId, runId, status, stepNumber, ...rest } = record
  return { protocolVersion, id, jobId, runId, status, stepNumber, messages, ...rest }
}

/** What of a RunSpec input's conversation the store holds already: the base of the segment's first record. */
export function historyBaseOf(input: RunInput): HistoryBase {
  if (input.type === "query") return { messageCount: 0 }
  return (
    input.historyBase ?? { checkpointId: input.checkpoint.id, messageCount: input.checkpoint.messages.length }
  )
}

/** The checkpoint records an event carries, in the order they were made. */
export function checkpointRecordsOf(event: PerstackEvent): CheckpointRecord[] {
  if (event.type === "startRun") return [event.initialCheckpoint]
  if (event.type === "continueToNextStep") return [event.checkpoint, event.nextCheckpoint]
  return isTerminalEvent(event) ? [event.checkpoint] : []
}

interface Entry {
  /** shared by the checkpoints of one line of a conversation: each takes its first `length` */
  messages: Message[]
  length: number
}

/**
 * Conversations by checkpoint id, kept in memory as one array per line of a conversation (a record that continues
 * the latest checkpoint appends to its array), so indexing a run of n steps costs n, not n squared.
 */
export class HistoryIndex {
  readonly #entries = new Map<string, Entry>()

  /** An index that knows what a segment started from: the stored conversation its RunSpec input continues. */
  static forInput(input: RunInput): HistoryIndex {
    const index = new HistoryIndex()
    const base = historyBaseOf(input)
    if (input.type !== "query" && base.checkpointId !== undefined)
      index.remember(base.checkpointId, input.checkpoint.messages.slice(0, base.messageCount))
    return index
  }

  /** A checkpoint whose whole conversation is known (a RunSpec's input, a v1 checkpoint read from the store). */
  remember(checkpointId: string, messages: readonly Message[]): void {
    this.#entries.set(checkpointId, { messages: [...messages], length: messages.length })
  }

  has(checkpointId: string): boolean {
    return this.#entries.has(checkpointId)
  }

  /** Why the index cannot take this history, or undefined when it can. */
  problem(history: CheckpointHistory): string | undefined {
    const { checkpointId, messageCount } = history
    if (checkpointId === undefined)
      return messageCount === 0 ? undefined : `history keeps ${messageCount} messages of no checkpoint`
    const base = this.#entries.get(checkpointId)
    if (!base) return `history continues checkpoint ${checkpointId}, which is not known here`
    if (messageCount > base.length)
      return `history keeps ${messageCount} messages of checkpoint ${checkpointId}, which has ${base.length}`
    return undefined
  }

  /** Indexes the record's conversation under its id; throws `checkpoint.history` when its base is unknown. */
  add(record: { id: string; history: CheckpointHistory }): void {
    const problem = this.problem(record.history)
    if (problem) throw new PerstackError("checkpoint.history", `checkpoint ${record.id}: ${problem}`)
    const { checkpointId, messageCount, newMessages } = record.history
    const base = checkpointId === undefined ? undefined : this.#entries.get(checkpointId)
    // Continuing the tip of a line appends to its array; anything else (a branch) starts a copy.
    const messages =
      base && messageCount === base.length && base.messages.length === base.length
        ? base.messages
        : (base?.messages ?? []).slice(0, messageCount)
    for (const message of newMessages) messages.push(message)
    this.#entries.set(record.id, { messages, length: messages.length })
  }

  /** The conversation of a checkpoint in the index (a copy). */
  messagesOf(checkpointId: string): Message[] {
    const entry = this.#entries.get(checkpointId)
    if (!entry) throw new PerstackError("checkpoint.history", `checkpoint ${checkpointId} is not known here`)
    return entry.messages.slice(0, entry.length)
  }

  /** The whole checkpoint of a record, indexing it first. */
  whole(record: CheckpointRecord): Checkpoint {
    this.add(record)
    return wholeCheckpoint(record, this.messagesOf(record.id))
  }
}
