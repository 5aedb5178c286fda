// Kept only for orchestrator/gateway/job-usage.test.ts, which still imports it here; the helpers live in text/.
export { compact } from "../text/text-preview.ts"
