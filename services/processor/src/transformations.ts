import type { SluiceEvent } from '@sluice/processing';

/** What a user transformation made of one input event. */
export type TransformOutcome =
  { kind: 'ok'; events: SluiceEvent[] } | { kind: 'drop' } | { kind: 'error'; message: string };

export interface TransformMetadata {
  sourceId: string;
  destinationId: string;
  destinationType: string;
}

/**
 * Runs a connection's transformation over the events of one batch, in order,
 * returning one outcome per input event. Implementations isolate user code and
 * never change the events they are given: the pipeline keeps them for dead letters.
 */
export interface TransformationRunner {
  run(transformationId: string, events: SluiceEvent[], meta: TransformMetadata): Promise<TransformOutcome[]>;
  close(): Promise<void>;
}
