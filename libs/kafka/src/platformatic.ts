import type { KafkaConfig } from '@sluice/config';
import { murmur2 } from './partitioner';

/**
 * Loads @platformatic/kafka, an ES module, through Node's own `createRequire` (require(esm),
 * Node >= 20.19), so the same code runs under tsx, plain node, an esbuild bundle and Jest, whose
 * module registry cannot load ES modules. Each caller types the subset of the module it uses.
 */
let loaded: unknown;
export function loadPlatformatic<M>(): M {
  if (loaded === undefined) {
    const proc = process as unknown as { getBuiltinModule?: (name: string) => unknown };
    type NodeModule = typeof import('node:module');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES module, loaded through Node's own require
    const mod = (proc.getBuiltinModule?.('node:module') ?? require('node:module')) as NodeModule;
    loaded = mod.createRequire(__filename)('@platformatic/kafka');
  }
  return loaded as M;
}

/** The client options every @platformatic/kafka client of a service shares: brokers, TLS, SASL. */
export function platformaticConnectionOptions(config: KafkaConfig): Record<string, unknown> {
  return {
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    connectTimeout: 3000,
    ...(config.ssl ? { tls: {} } : {}),
    ...(config.sasl
      ? {
          sasl: {
            mechanism: config.sasl.mechanism.toUpperCase(),
            username: config.sasl.username,
            password: config.sasl.password,
          },
        }
      : {}),
  };
}

/** Kafka's default partitioner (murmur2 of the key), so both clients put a key on one partition. */
export const platformaticPartitioner = (_message: unknown, key: Buffer | undefined): number =>
  key ? murmur2(key) & 0x7fffffff : 0;
