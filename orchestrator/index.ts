// The package's library entry: run Experts from TypeScript; the CLI is a thin layer over the same call.

export { ERROR_CODES, type ErrorCode } from "../runtime/errors/error-codes.ts"
export { PerstackError } from "../runtime/errors/perstack-error.ts"
export { type JobResult, type RunOptions, run } from "./api/run.ts"
export {
  type ApiClient,
  type ApiClientOptions,
  type ApiError,
  type ApiErrorType,
  type ApiJob,
  type ApiResult,
  createApiClient,
  type JobStream,
  type StreamEnd,
} from "./client/api-client.ts"
export { loadConfig, parseConfigText } from "./config/load-config.ts"
export { JobStore } from "./store/job-store.ts"
