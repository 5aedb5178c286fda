// The syntax of Expert keys and names, as in the original (`[@scope/]name[@version|@tag]`).
import { z } from "zod"

const segment = "[a-z0-9][a-z0-9_-]*"
const looseSegment = "[a-z0-9][a-z0-9_.-]*"
const semver =
  "(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?"

/** An Expert name: `[@scope/]name`, lowercase letters, digits, `-` and `_`. A perstack.toml key must be a name. */
export const EXPERT_NAME_PATTERN = new RegExp(`^(?:@${segment}/)?${segment}$`)
/** A delegate reference may add `@<semver>` or `@<tag>` (registry Experts). */
export const EXPERT_KEY_PATTERN = new RegExp(
  `^(?:@${looseSegment}/)?${looseSegment}(?:@(?:${semver}|${segment}))?$`,
)
export const SEMVER_PATTERN = new RegExp(`^${semver}$`)
export const MAX_EXPERT_NAME_LENGTH = 255

export const expertNameSchema = z
  .string()
  .max(MAX_EXPERT_NAME_LENGTH, `an Expert name is at most ${MAX_EXPERT_NAME_LENGTH} characters`)
  .regex(
    EXPERT_NAME_PATTERN,
    'an Expert key is "name" or "@scope/name": lowercase letters, digits, "-" and "_", starting with a letter or digit',
  )

export const expertKeySchema = z
  .string()
  .max(511)
  .regex(
    EXPERT_KEY_PATTERN,
    'an Expert reference is "name", "@scope/name", optionally followed by "@version" or "@tag"',
  )
