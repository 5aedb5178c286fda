import { describe, expect, it } from "vitest"
import type { Status } from "../../runtime/protocol/status.ts"
import { markColor, markGlyph, markOfStatus, type RunMark } from "./run-marks.ts"

describe("run marks", () => {
  it("reads a stop for delegates or the user as done once a later segment resumed from it", () => {
    const statuses: Status[] = [
      "init",
      "proceeding",
      "completed",
      "stoppedByError",
      "stoppedByDelegate",
      "stoppedByInteractiveTool",
      "stoppedByExceededMaxSteps",
      "stoppedByCancel",
    ]
    const glyphs = (resumedLater: boolean) =>
      statuses.map((status) => markGlyph(markOfStatus(status, resumedLater))).join(" ")
    expect(glyphs(false)).toBe("● ● ✓ ✗ ⏸ ? ⊘ ■")
    expect(glyphs(true)).toBe("● ● ✓ ✗ ⎇ ? ⊘ ■")
    expect(markOfStatus("stoppedByInteractiveTool", true)).toBe("answered")
  })

  it("animates a running mark with a frame, and colours what needs attention", () => {
    expect([0, 1, 10].map((frame) => markGlyph("running", frame))).toEqual(["⠋", "⠙", "⠋"])
    expect(markGlyph("completed", 3)).toBe("✓")
    const marks: RunMark[] = ["completed", "failed", "waitingForUser", "running", "stopped"]
    expect(marks.map(markColor)).toEqual(["green", "red", "yellow", "cyan", undefined])
  })
})
