// The protocol version carried by every event and every persisted record.
import { z } from "zod"

/**
 * 2: checkpoints in events and in the store reference the conversation they continue instead of repeating it
 * (`history`), and startGeneration gives the number of messages sent instead of the messages. Everything else
 * has the shape it had in 1.
 */
export const PROTOCOL_VERSION = 2

/**
 * Every record and event starts with this field, so a reader can refuse or migrate what it does not know. Shapes
 * that 2 kept read in either version, so a store written by protocol 1 stays readable.
 */
export const protocolVersionSchema = z.union([z.literal(1), z.literal(PROTOCOL_VERSION)])

/** Shapes only protocol 2 has: a checkpoint record, and the events that carry one. */
export const currentProtocolVersionSchema = z.literal(PROTOCOL_VERSION)
