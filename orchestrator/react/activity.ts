// What a UI shows of a job, one entry per thing that happened: upstream @perstack/react's Activity, on our events.
import { z } from "zod"
import { toolResultContentSchema } from "../../runtime/protocol/message.ts"

const runRefSchema = z.strictObject({ expertKey: z.string(), runId: z.string() })

const baseActivity = {
  /** stable across replays of the same events: a React key */
  id: z.string(),
  expertKey: z.string(),
  runId: z.string(),
  /** the activity before this one in the same run segment (the "daisy chain") */
  previousActivityId: z.string().optional(),
  /** the run that delegated this run's task, when it is a delegate */
  delegatedBy: runRefSchema.optional(),
  /** what the model reasoned before this action */
  reasoning: z.string().optional(),
}
const activity = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ ...baseActivity, type: z.literal(type), ...shape })

/** The user's query (or follow-up) that a run starts from; a delegate's query is its delegate activity's. */
export const queryActivitySchema = activity("query", { text: z.string() })
/** A generation failed and is tried again. */
export const retryActivitySchema = activity("retry", { error: z.string(), message: z.string() })
/** A run's final answer (a delegate's goes back to its parent). */
export const completeActivitySchema = activity("complete", { text: z.string() })
/** A run stopped for good: an error, its sandbox died, or the step budget ran out. */
export const errorActivitySchema = activity("error", {
  error: z.string().optional(),
  errorName: z.string().optional(),
  isRetryable: z.boolean().optional(),
  /** ours: the stable code (`provider.badRequest`, `sandbox.crashed`, `run.exceededMaxSteps`) */
  code: z.string().optional(),
})
/** One tool call and its result. */
export const generalToolActivitySchema = activity("generalTool", {
  skillName: z.string(),
  toolName: z.string(),
  args: z.record(z.string(), z.unknown()),
  result: z.array(toolResultContentSchema).optional(),
  /** the result's text when the tool failed */
  error: z.string().optional(),
  /** ours */
  toolCallId: z.string(),
})
/** A call to another Expert, shown when it is made (the delegate's own activities follow). */
export const delegateActivitySchema = activity("delegate", {
  delegateExpertKey: z.string(),
  query: z.string(),
  /** ours: the delegate's run carries it as its `delegatedBy` tool call */
  toolCallId: z.string(),
})
/** The delegates of one step have all returned, and the run goes on with their answers. */
export const delegationCompleteActivitySchema = activity("delegationComplete", {
  count: z.number().int().nonnegative(),
  /** ours: what each delegate returned (a failed delegate's error comes back as an error result) */
  results: z.array(
    z.strictObject({
      toolCallId: z.string(),
      delegateExpertKey: z.string(),
      text: z.string(),
      isError: z.boolean(),
    }),
  ),
})
/** A tool the user answers: the job waits for `continue` with an `interactiveAnswer`. */
export const interactiveToolActivitySchema = activity("interactiveTool", {
  skillName: z.string(),
  toolName: z.string(),
  args: z.record(z.string(), z.unknown()),
  /** ours: answer with this id */
  toolCallId: z.string(),
})

export const activitySchema = z.discriminatedUnion("type", [
  queryActivitySchema,
  retryActivitySchema,
  completeActivitySchema,
  errorActivitySchema,
  generalToolActivitySchema,
  delegateActivitySchema,
  delegationCompleteActivitySchema,
  interactiveToolActivitySchema,
])
export type Activity = z.infer<typeof activitySchema>
export type ActivityType = Activity["type"]
export type ActivityOf<T extends ActivityType> = Extract<Activity, { type: T }>
