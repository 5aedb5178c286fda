// Protocol 1's shapes of the events protocol 2 changed, read and upgraded, so a store written by protocol 1 reads as
// protocol 2: a v1 checkpoint held its whole conversation (as a record, it continues no checkpoint), and
// startGeneration listed the messages sent (now their count).
import { z } from "zod"
import { type Checkpoint, type CheckpointRecord, checkpointSchema } from "../checkpoint.ts"
import {
  completeRunEventSchema,
  continueToNextStepEventSchema,
  startGenerationEventSchema,
  startRunEventSchema,
  stopRunByDelegateEventSchema,
  stopRunByErrorEventSchema,
  stopRunByExceededMaxStepsEventSchema,
  stopRunByInteractiveToolEventSchema,
} from "../events/state.ts"
import { toCheckpointRecord } from "../history-index.ts"
import { messageSchema } from "../message.ts"
import { PROTOCOL_VERSION } from "../version.ts"

const v1 = z.literal(1)

export function upgradeCheckpoint(checkpoint: Checkpoint): CheckpointRecord {
  return toCheckpointRecord(checkpoint, { messageCount: 0 })
}

type Out<S extends z.ZodType> = z.output<S>

const startRunV1 = startRunEventSchema.extend({ protocolVersion: v1, initialCheckpoint: checkpointSchema })
export const startRunV1Schema = startRunV1.transform(
  ({ initialCheckpoint, ...event }): Out<typeof startRunEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    initialCheckpoint: upgradeCheckpoint(initialCheckpoint),
  }),
)

const startGenerationV1 = startGenerationEventSchema
  .omit({ messageCount: true })
  .extend({ protocolVersion: v1, messages: z.array(messageSchema) })
export const startGenerationV1Schema = startGenerationV1.transform(
  ({ messages, ...event }): Out<typeof startGenerationEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    messageCount: messages.length,
  }),
)

const continueToNextStepV1 = continueToNextStepEventSchema.extend({
  protocolVersion: v1,
  checkpoint: checkpointSchema,
  nextCheckpoint: checkpointSchema,
})
export const continueToNextStepV1Schema = continueToNextStepV1.transform(
  ({ checkpoint, nextCheckpoint, ...event }): Out<typeof continueToNextStepEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
    nextCheckpoint: upgradeCheckpoint(nextCheckpoint),
  }),
)

// The terminal events of protocol 1: the same fields, their checkpoint whole.
const terminal = { protocolVersion: v1, checkpoint: checkpointSchema }
const stopRunByInteractiveToolV1 = stopRunByInteractiveToolEventSchema.extend(terminal)
const stopRunByDelegateV1 = stopRunByDelegateEventSchema.extend(terminal)
const stopRunByExceededMaxStepsV1 = stopRunByExceededMaxStepsEventSchema.extend(terminal)
const stopRunByErrorV1 = stopRunByErrorEventSchema.extend(terminal)
const completeRunV1 = completeRunEventSchema.extend(terminal)

export const stopRunByInteractiveToolV1Schema = stopRunByInteractiveToolV1.transform(
  ({ checkpoint, ...event }): Out<typeof stopRunByInteractiveToolEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
  }),
)
export const stopRunByDelegateV1Schema = stopRunByDelegateV1.transform(
  ({ checkpoint, ...event }): Out<typeof stopRunByDelegateEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
  }),
)
export const stopRunByExceededMaxStepsV1Schema = stopRunByExceededMaxStepsV1.transform(
  ({ checkpoint, ...event }): Out<typeof stopRunByExceededMaxStepsEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
  }),
)
export const stopRunByErrorV1Schema = stopRunByErrorV1.transform(
  ({ checkpoint, ...event }): Out<typeof stopRunByErrorEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
  }),
)
export const completeRunV1Schema = completeRunV1.transform(
  ({ checkpoint, ...event }): Out<typeof completeRunEventSchema> => ({
    ...event,
    protocolVersion: PROTOCOL_VERSION,
    checkpoint: upgradeCheckpoint(checkpoint),
  }),
)

/** The v1 shapes as v1 read them (no upgrade), by type: what a view that shows a stored event as it is prints. */
export const v1EventSchemaByType: ReadonlyMap<string, z.ZodObject> = new Map<string, z.ZodObject>([
  ["startRun", startRunV1],
  ["startGeneration", startGenerationV1],
  ["continueToNextStep", continueToNextStepV1],
  ["stopRunByInteractiveTool", stopRunByInteractiveToolV1],
  ["stopRunByDelegate", stopRunByDelegateV1],
  ["stopRunByExceededMaxSteps", stopRunByExceededMaxStepsV1],
  ["stopRunByError", stopRunByErrorV1],
  ["completeRun", completeRunV1],
])
