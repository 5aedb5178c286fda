// perstack/react: React hooks (useRun, useJobStream) and the event-to-activity utilities, as upstream's @perstack/react.
// React is the application's own (a peer dependency); nothing here needs Node's built-ins, so it runs in a browser.

export type { PerstackEvent } from "../../runtime/protocol/events/index.ts"
// The Execution API's client, so a browser app need not import the Node-side library entry.
export {
  type ApiClient,
  type ApiClientOptions,
  type ApiError,
  type ApiJob,
  createApiClient,
} from "../client/api-client.ts"
export {
  type Activity,
  type ActivityOf,
  type ActivityType,
  activitySchema,
} from "./activity.ts"
export {
  type ActivityProcessState,
  createInitialActivityProcessState,
  isRootComplete,
  jobStatusOf,
  processRunEventToActivity,
  toActivities,
  toolToActivity,
} from "./event-to-activity.ts"
export { groupActivitiesByRun, type RunGroup } from "./group-by-run.ts"
export { JobStreamError } from "./job-stream-error.ts"
export {
  initialStreamingState,
  type RunStreamingState,
  reduceStreaming,
  type StreamingState,
} from "./streaming-state.ts"
export {
  type EventSourceFactory,
  type JobStreamResult,
  type UseJobStreamOptions,
  useJobStream,
} from "./use-job-stream.ts"
export { type RunResult, useRun } from "./use-run.ts"
