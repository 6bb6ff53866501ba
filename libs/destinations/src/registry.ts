import { register, type RegisteredDestination } from './core/configure';
import { amplitude } from './amplitude';
import { braze } from './braze';
import { customerio } from './customerio';
import { ga4 } from './ga4';
import { hubspot } from './hubspot';
import { kafkaDestination } from './kafka';
import { mixpanel } from './mixpanel';
import { redisDestination } from './redis';
import { salesforce } from './salesforce';
import { webhook } from './webhook';

/** Every destination type by its `type`. Adding one: its folder, and one line here. */
export const destinations: Readonly<Record<string, RegisteredDestination>> = Object.freeze({
  webhook: register(webhook),
  kafka: register(kafkaDestination),
  redis: register(redisDestination),
  amplitude: register(amplitude),
  mixpanel: register(mixpanel),
  hubspot: register(hubspot),
  braze: register(braze),
  ga4: register(ga4),
  customerio: register(customerio),
  salesforce: register(salesforce),
});

/** Finds a destination by type; undefined for an unknown type. */
export function destinationType(type: string): RegisteredDestination | undefined {
  return Object.prototype.hasOwnProperty.call(destinations, type) ? destinations[type] : undefined;
}
