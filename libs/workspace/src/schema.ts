import { z } from 'zod';

/** Ids name Kafka topics (`sluice.dest.<id>`) and metrics labels. */
const id = z
  .string()
  .min(1, 'required')
  .max(100, 'at most 100 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"');
const name = z.string().min(1, 'required');

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const httpSourceSchema = z
  .object({
    id,
    name,
    type: z.literal('http'),
    writeKey: z.string().min(8, 'at least 8 characters'),
    enabled: z.boolean().default(true),
  })
  .strict();

const kafkaSourceSchema = z
  .object({
    id,
    name,
    type: z.literal('kafka'),
    topics: z.array(z.string().min(1)).min(1, 'at least one topic'),
    format: z.enum(['json', 'avro']).default('json'),
    enabled: z.boolean().default(true),
  })
  .strict();

export const sourceSchema = z.discriminatedUnion('type', [httpSourceSchema, kafkaSourceSchema]);

const filterListSchema = z
  .object({
    /** Event names (`event` of track, `name` of page/screen), matched exactly. */
    events: z.array(z.string().min(1)).optional(),
    /** Event types, e.g. `identify`. */
    types: z.array(z.enum(EVENT_TYPES)).optional(),
  })
  .strict();

export const destinationSchema = z
  .object({
    id,
    name,
    /** One of the known destination types (see BUILTIN_DESTINATION_TYPES). */
    type: z.string().min(1, 'required'),
    enabled: z.boolean().default(true),
    config: z.record(z.unknown()).default({}),
    eventFilters: z
      .object({ allow: filterListSchema.optional(), deny: filterListSchema.optional() })
      .strict()
      .optional(),
    /**
     * Consent categories (OneTrust/Ketch/custom consent ids for RudderStack-style
     * events, category names for Segment-style events) that the user must have
     * granted for this destination to receive the event.
     */
    consentCategories: z.array(z.string().min(1)).default([]),
    /**
     * How the categories combine for RudderStack `custom` consent providers when
     * the event does not say (`context.consentManagement.resolutionStrategy`).
     */
    consentResolutionStrategy: z.enum(['and', 'or']).default('and'),
  })
  .strict();

export const connectionSchema = z
  .object({
    sourceId: id,
    destinationId: id,
    transformationId: id.optional(),
    enabled: z.boolean().default(true),
  })
  .strict();

/** `codeFile` (relative to the workspace file) is read by the loader into `code`. */
export const transformationSchema = z
  .object({
    id,
    name,
    code: z.string().min(1, 'required'),
    libraries: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const transformationLibrarySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_$@./-]+$/, 'use letters, digits, "_", "$", "@", ".", "/" or "-"'),
    code: z.string().min(1, 'required'),
  })
  .strict();

const jsonSchemaObject = z.record(z.unknown());

export const trackingPlanSchema = z
  .object({
    id,
    version: z.number().int().min(1),
    name: z.string().optional(),
    sourceIds: z.array(id).default([]),
    rules: z
      .object({
        /** Track event name → JSON Schema of its `properties`. */
        events: z.record(z.object({ properties: jsonSchemaObject.optional() }).strict()).default({}),
        identify: z.object({ traits: jsonSchemaObject.optional() }).strict().optional(),
      })
      .strict()
      .default({}),
    settings: z
      .object({
        allowUnplannedEvents: z.boolean().default(true),
        unplannedProperties: z.enum(['forward', 'drop']).default('forward'),
        anyOtherViolation: z.enum(['forward', 'drop']).default('forward'),
      })
      .strict()
      .default({}),
  })
  .strict();

export const suppressedUsersSchema = z
  .object({
    userIds: z.array(z.string().min(1)).default([]),
    anonymousIds: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const workspaceSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    sources: z.array(sourceSchema).default([]),
    destinations: z.array(destinationSchema).default([]),
    connections: z.array(connectionSchema).default([]),
    transformations: z.array(transformationSchema).default([]),
    transformationLibraries: z.array(transformationLibrarySchema).default([]),
    trackingPlans: z.array(trackingPlanSchema).default([]),
    suppressedUsers: suppressedUsersSchema.default({}),
  })
  .strict();

export type WorkspaceConfig = z.infer<typeof workspaceSchema>;
export type Source = z.infer<typeof sourceSchema>;
export type HttpSource = z.infer<typeof httpSourceSchema>;
export type KafkaSource = z.infer<typeof kafkaSourceSchema>;
export type Destination = z.infer<typeof destinationSchema>;
export type EventFilters = NonNullable<Destination['eventFilters']>;
export type Connection = z.infer<typeof connectionSchema>;
export type Transformation = z.infer<typeof transformationSchema>;
export type TransformationLibrary = z.infer<typeof transformationLibrarySchema>;
export type TrackingPlan = z.infer<typeof trackingPlanSchema>;
export type TrackingPlanSettings = TrackingPlan['settings'];
export type SuppressedUsers = z.infer<typeof suppressedUsersSchema>;
