import { createEngineStore } from '../src/store/engine-store.js';
import type { RunDoc } from '../src/store/models.js';
import { ensureIndexes, openStore } from '../src/store/models.js';
import { describeEngineStoreContract } from './support/engine-store-contract.js';
import { testMongoUri } from './support/env.js';

// The one implementation, on the MongoDB-wire server the suite runs (FerretDB 1.x unless MONGODB_URI says otherwise),
// with the indexes production builds. Each open is a database of its own, dropped on close.
describeEngineStoreContract('mongoose (createEngineStore)', async () => {
  const store = await openStore(testMongoUri('contract'));
  await ensureIndexes(store);
  const db = store.connection.db;
  if (!db) throw new Error('the store is not connected');
  return {
    engineStore: createEngineStore(store),
    below: {
      async insertRunOnly(run: RunDoc) {
        await db.collection<RunDoc>('runs').insertOne(run);
      },
      async callLogCount(runId: string) {
        const [modelCalls, toolCalls] = await Promise.all([
          db.collection('model_calls').countDocuments({ runId }),
          db.collection('tool_calls').countDocuments({ runId }),
        ]);
        return { modelCalls, toolCalls };
      },
    },
    async close() {
      await store.connection.dropDatabase().catch(() => undefined);
      await store.close();
    },
  };
});
