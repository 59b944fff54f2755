/**
 * Endpoint discovery: where a pool's replica URLs come from. One interface, three sources —
 * the spec's static list, DNS (A/AAAA + port, or SRV), Kubernetes EndpointSlices — and a factory
 * from a config object. A discovery reports the full set each time it changes; the pool diffs it
 * (`UpstreamPool.setEndpoints`), so endpoints that stay keep their live state.
 */
import { DnsDiscovery, type DnsDiscoveryConfig } from "./dns.js";
import { KubernetesDiscovery, type KubernetesDiscoveryConfig } from "./kubernetes.js";
import { StaticDiscovery, type StaticDiscoveryConfig } from "./static.js";
import type { Discovery } from "./types.js";

export type { Discovery } from "./types.js";

export type DiscoveryConfig = StaticDiscoveryConfig | DnsDiscoveryConfig | KubernetesDiscoveryConfig;

export function createDiscovery(cfg: DiscoveryConfig): Discovery {
  switch (cfg.kind) {
    case "static":
      return new StaticDiscovery(cfg);
    case "dns":
      return new DnsDiscovery(cfg);
    case "kubernetes":
      return new KubernetesDiscovery(cfg);
  }
}

export { DnsDiscovery, type DnsDiscoveryConfig, type DnsRecordType, type DnsResolver } from "./dns.js";
export {
  type EndpointLike,
  type EndpointPortLike,
  type EndpointSliceLike,
  endpointSlicesToUrls,
  KubernetesDiscovery,
  type KubernetesDiscoveryConfig,
  type SliceAddressType,
  type SliceSource,
  type SliceUrlOptions,
} from "./kubernetes.js";
export { normalizeUrls, StaticDiscovery, type StaticDiscoveryConfig, sameUrls } from "./static.js";
