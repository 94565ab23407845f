import type { HubConfig } from '../../schemas/config.ts';
import type { PaymentConnector } from '../../connectors/payments/types.ts';
import type { CarrierConnector } from '../../connectors/carriers/types.ts';
import type { Channel } from '../inbound.ts';
import type { ReferenceCache } from './reference-cache.ts';

/** What every stage adapter needs besides its transaction: config, clock and ids come in. */
export interface StageContext {
  namespace: string;
  config: HubConfig;
  /** channel code → its settings and connector */
  channels: ReadonlyMap<string, Channel>;
  /** payment provider → its connector */
  payments: ReadonlyMap<string, PaymentConnector>;
  /** carrier or tracking service → its connector */
  carriers: ReadonlyMap<string, CarrierConnector>;
  now: () => Date;
  newId: () => string;
  /** warehouses' facts, products' categories and weights, held a few seconds (reference-cache.ts); without it, read each time */
  reference?: ReferenceCache;
}
