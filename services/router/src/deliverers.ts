import { ConfigError } from '@sluice/config';
import type { Deliverer } from '@sluice/delivery';
import { WebhookDeliverer, webhookConfigSchema } from './webhook';
import type { DestinationSpec } from './workspace';

export type DelivererFactory = (dest: DestinationSpec) => Deliverer;

function webhook(dest: DestinationSpec): Deliverer {
  const { delivery: _ignored, ...rest } = dest.config;
  void _ignored;
  const parsed = webhookConfigSchema.safeParse(rest);
  if (!parsed.success) {
    throw new ConfigError(
      'router',
      parsed.error.issues.map((i) => `destination ${dest.id}: config.${i.path.join('.')}: ${i.message}`),
    );
  }
  return new WebhookDeliverer(parsed.data);
}

/** Deliverers by destination type. The destinations library plugs its types in here. */
export const builtinDeliverers: Record<string, DelivererFactory> = { webhook };
