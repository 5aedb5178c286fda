// The protocol version carried by every event and every persisted record.
import { z } from "zod"

export const PROTOCOL_VERSION = 1

/** Every record and event starts with this field, so a reader can refuse or migrate what it does not know. */
export const protocolVersionSchema = z.literal(PROTOCOL_VERSION)
