/**
 * The gateway's view of an embedded embedding replica: catalog paths (`/v1/embeddings`,
 * `/v1/models`, `/health`) and load from its queue gauges (running and waiting texts).
 */
import { type AdapterOptions, CatalogAdapter } from "../adapter.js";

export class EmbeddedAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("embedded", opts);
  }
}
