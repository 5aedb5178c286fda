// Kept only for orchestrator/job/delegation.test.ts, which still imports it here; the rebuild lives in job-tree/.
export { rebuildRunsFromEvents } from "../job-tree/rebuild-from-events.ts"
