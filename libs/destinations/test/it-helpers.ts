import {
  destinations,
  type ConfiguredHttpDestination,
  type DeliveryVerdict,
  type HttpRuntime,
  type SegmentEvent,
} from '../src';

export const runtime: HttpRuntime = { timeoutMs: 5000 };

export function configureHttp(type: string, config: unknown): ConfiguredHttpDestination {
  const registered = destinations[type];
  if (!registered) throw new Error(`unknown destination ${type}`);
  const result = registered.configure(config);
  if (!result.ok) throw new Error(result.problems.join('; '));
  if (result.destination.transport !== 'http') throw new Error('not an http destination');
  return result.destination;
}

/** Transforms and sends every delivery in order; returns each delivery's verdict. */
export async function sendAll(
  dest: ConfiguredHttpDestination,
  events: SegmentEvent[],
  rt: HttpRuntime = runtime,
): Promise<DeliveryVerdict[]> {
  const { deliveries } = dest.transform(events);
  const out: DeliveryVerdict[] = [];
  for (const d of deliveries) out.push(await dest.send(d, rt));
  return out;
}
