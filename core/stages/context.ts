import type { HubConfig } from '../../schemas/config.ts';
import type { Channel } from '../inbound.ts';

/** What every stage adapter needs besides its transaction: config, clock and ids come in. */
export interface StageContext {
  namespace: string;
  config: HubConfig;
  /** channel code → its settings and connector */
  channels: ReadonlyMap<string, Channel>;
  now: () => Date;
  newId: () => string;
}
