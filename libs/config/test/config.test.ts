import { buildConfig, ConfigError, kafkaConfigSchema, list, readKafkaEnv, z } from '../src';

const schema = z.object({
  kafka: kafkaConfigSchema,
  port: z.number().int().positive().default(8080),
});

const read = (env: Record<string, string | undefined>) => ({
  kafka: readKafkaEnv(env, 'test'),
  port: env.PORT === undefined ? undefined : Number(env.PORT),
});

describe('buildConfig', () => {
  it('applies defaults when the environment is empty', () => {
    const cfg = buildConfig('svc', schema, read, {});
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(cfg.kafka.clientId).toBe('test');
    expect(cfg.port).toBe(8080);
  });

  it('reads lists and numbers from the environment', () => {
    const cfg = buildConfig('svc', schema, read, { KAFKA_BROKERS: 'a:1, b:2', PORT: '9999' });
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(cfg.port).toBe(9999);
  });

  it('names every bad setting in one error', () => {
    try {
      buildConfig('gateway', schema, read, { KAFKA_BROKERS: 'nohostport', PORT: '-3' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.message).toContain('gateway');
      expect(e.problems.some((p) => p.startsWith('kafka.brokers.0'))).toBe(true);
      expect(e.problems.some((p) => p.startsWith('port'))).toBe(true);
    }
  });

  it('ignores empty list entries', () => {
    expect(list(' , ,')).toEqual([]);
    expect(list(undefined)).toBeUndefined();
  });
});
