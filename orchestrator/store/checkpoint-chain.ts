// Whole checkpoints from the store's files: a v2 record names the checkpoint whose conversation it continues, read
// in turn until one that starts the conversation, or a v1 file, which holds all of it.
import { PerstackError } from "../../runtime/errors/perstack-error.ts"
import type { Checkpoint, CheckpointRecord } from "../../runtime/protocol/checkpoint.ts"
import { type HistoryIndex, wholeCheckpoint } from "../../runtime/protocol/history-index.ts"

/** What a checkpoint file holds: a v2 record, or a v1 checkpoint with its whole conversation. */
export type StoredCheckpoint = Checkpoint | CheckpointRecord

export const isRecord = (stored: StoredCheckpoint): stored is CheckpointRecord => "history" in stored

/** A checkpoint's fields without its conversation: what a reader needs that lists runs, not messages. */
export type CheckpointState = Omit<Checkpoint, "messages">

export function stateOf(stored: StoredCheckpoint): CheckpointState {
  if (isRecord(stored)) {
    const { history: _, ...state } = stored
    return state
  }
  const { messages: _, ...state } = stored
  return state
}

/**
 * Reads checkpoint `id` and the chain of checkpoints its conversation continues (each file once: those `index`
 * knows already are not read again), and returns it whole. Undefined when there is no such checkpoint; a chain
 * that names a missing checkpoint, or loops, is a corrupt store.
 */
export async function resolveCheckpoint(options: {
  id: string
  load: (id: string) => Promise<StoredCheckpoint | undefined>
  index: HistoryIndex
  /** the file of a checkpoint, for errors */
  fileOf: (id: string) => string
}): Promise<Checkpoint | undefined> {
  const { id, load, index, fileOf } = options
  const first = await load(id)
  if (!first) return undefined
  if (!isRecord(first)) {
    index.remember(id, first.messages)
    return first
  }
  const chain: CheckpointRecord[] = [first]
  const seen = new Set([id])
  for (let next = first.history.checkpointId; next !== undefined && !index.has(next); ) {
    const from = chain.at(-1) as CheckpointRecord
    if (seen.has(next)) throw corrupt(fileOf(from.id), `its history loops back to checkpoint ${next}`)
    seen.add(next)
    const stored = await load(next)
    if (!stored)
      throw corrupt(fileOf(from.id), `its history continues checkpoint ${next}, which is not in the store`)
    if (!isRecord(stored)) {
      index.remember(next, stored.messages)
      break
    }
    chain.push(stored)
    next = stored.history.checkpointId
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const record = chain[i] as CheckpointRecord
    const problem = index.problem(record.history)
    if (problem) throw corrupt(fileOf(record.id), problem)
    index.add(record)
  }
  return wholeCheckpoint(first, index.messagesOf(first.id))
}

const corrupt = (file: string, problem: string) => new PerstackError("store.corrupt", `${file}: ${problem}`)
