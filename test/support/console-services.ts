import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createMailer } from '../../src/channels/mailer.js';
import { createConsoleServices } from '../../src/console/services.js';
import { createFailpoints } from '../../src/engine/failpoints.js';
import type { ConsoleServices } from '../../src/http/deps.js';
import type { Store } from '../../src/store/models.js';

/** Console services for HTTP harnesses that build the express app without the whole platform (no mail relay). */
export function testConsoleServices(store: Store, redis: Redis, appSecret: string, prefix: string): ConsoleServices {
  const logger = pino({ level: 'silent' });
  return createConsoleServices({
    connection: store.connection,
    redis,
    mailer: createMailer({
      transport: undefined,
      from: 'Countersign <test@countersign.test>',
      store,
      failpoints: createFailpoints(new Set(), logger),
      logger,
    }),
    appSecret,
    signInLimits: { perClient: 1000, perAddress: 1000, windowMinutes: 15, publicSubmitsPerHour: 1000 },
    prefix,
    queues: {},
  });
}
