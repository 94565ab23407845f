import type { HubConfig } from '../../schemas/config.ts';
import type { OrderConnector } from '../../connectors/types.ts';

/** What every stage adapter needs besides its transaction: config, clock and ids come in. */
export interface StageContext {
  namespace: string;
  config: HubConfig;
  connectors: ReadonlyMap<string, OrderConnector>;
  now: () => Date;
  newId: () => string;
}
