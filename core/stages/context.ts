import type { HubConfig } from '../../schemas/config.ts';
import type { PaymentConnector } from '../../connectors/payments/types.ts';
import type { CarrierConnector } from '../../connectors/carriers/types.ts';
import type { Channel } from '../inbound.ts';

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
}
