// Activities grouped by run segment, in order of first appearance (upstream's groupActivitiesByRun): one section
// per run in a UI, each with the run that delegated it.
import type { Activity } from "./activity.ts"

export interface RunGroup {
  runId: string
  expertKey: string
  activities: Activity[]
  delegatedBy?: { expertKey: string; runId: string }
}

export function groupActivitiesByRun(activities: readonly Activity[]): RunGroup[] {
  const groups = new Map<string, RunGroup>()
  for (const activity of activities) {
    let group = groups.get(activity.runId)
    if (!group) {
      group = {
        runId: activity.runId,
        expertKey: activity.expertKey,
        activities: [],
        ...(activity.delegatedBy ? { delegatedBy: activity.delegatedBy } : {}),
      }
      groups.set(activity.runId, group)
    }
    group.activities.push(activity)
  }
  return [...groups.values()]
}
