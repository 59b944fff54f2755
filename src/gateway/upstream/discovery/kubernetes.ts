/**
 * Kubernetes discovery: watches the EndpointSlices of a Service
 * (`kubernetes.io/service-name=<service>` in a namespace) and reports the ready endpoints'
 * addresses × the named port as URLs. Configuration comes from a kubeconfig file when one is
 * named, else the default chain of @kubernetes/client-node (`$KUBECONFIG`, `~/.kube/config`,
 * in-cluster service account). The client library is loaded lazily, on `start`.
 *
 * List + watch through client-node's informer; when the watch or the list fails, the informer
 * is dropped and a fresh one re-lists after a backoff (1 s doubling to 30 s, reset by a
 * successful list). The last set stays in use meanwhile; errors go to `onError`.
 *
 * Which endpoints count (EndpointSlice API, discovery.k8s.io/v1):
 * - `conditions.ready` nil means ready; `terminating` nil means not terminating.
 * - When no endpoint is ready but some are serving while terminating (every pod of a rollout
 *   going away at once), those are used, as kube-proxy does (KEP-1669).
 * - Only the first address of an endpoint counts ("no semantics are defined for additional
 *   addresses beyond the first").
 * - The port is looked up per slice by name (slices of one Service may carry different port
 *   numbers during a rollout); with no name given, a slice's only port (or its unnamed one).
 * - Dual-stack Services have one slice family per address type; using both would list every pod
 *   twice, so one family is used: the configured `addressType`, else IPv4 when any IPv4 slice has
 *   usable endpoints, else IPv6, else FQDN.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { normalizeUrls, sameUrls } from "./static.js";
import type { Discovery } from "./types.js";

/** The parts of an EndpointSlice discovery reads (client-node's V1EndpointSlice fits). */
export interface EndpointSliceLike {
  addressType: string;
  endpoints?: readonly EndpointLike[] | null;
  ports?: readonly EndpointPortLike[] | null;
  metadata?: { name?: string; namespace?: string };
}

export interface EndpointLike {
  addresses: readonly string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
}

export interface EndpointPortLike {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
}

export type SliceAddressType = "IPv4" | "IPv6" | "FQDN";

export interface SliceUrlOptions {
  scheme?: "http" | "https";
  /** Address family to use; default: IPv4 if usable, else IPv6, else FQDN. */
  addressType?: SliceAddressType;
}

function slicePort(slice: EndpointSliceLike, portName: string | undefined): number | undefined {
  const ports = (slice.ports ?? []).filter(
    (p) => (p.protocol ?? "TCP") === "TCP" && typeof p.port === "number",
  );
  let chosen: EndpointPortLike | undefined;
  if (portName !== undefined && portName !== "") chosen = ports.find((p) => p.name === portName);
  else chosen = ports.length === 1 ? ports[0] : ports.find((p) => (p.name ?? "") === "");
  return chosen?.port ?? undefined;
}

function urlOf(scheme: string, addressType: string, address: string, port: number): string {
  const host = addressType === "IPv6" ? `[${address}]` : address.replace(/\.$/, "");
  return `${scheme}://${host}:${port}`;
}

/** URLs of one address family: ready endpoints, else serving-while-terminating ones. */
function familyUrls(
  slices: readonly EndpointSliceLike[],
  family: string,
  portName: string | undefined,
  scheme: string,
): string[] {
  const ready: string[] = [];
  const terminatingServing: string[] = [];
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    const port = slicePort(slice, portName);
    if (port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses[0];
      if (address === undefined || address === "") continue;
      const c = ep.conditions ?? {};
      const url = urlOf(scheme, family, address, port);
      if (c.ready !== false) ready.push(url);
      else if (c.terminating === true && c.serving !== false) terminatingServing.push(url);
    }
  }
  return normalizeUrls(ready.length > 0 ? ready : terminatingServing);
}

/**
 * The endpoint URLs a set of EndpointSlices of one Service describes, for the port named
 * `portName` (see the module comment for the rules). Sorted, without duplicates.
 */
export function endpointSlicesToUrls(
  slices: readonly EndpointSliceLike[],
  portName?: string,
  opts: SliceUrlOptions = {},
): string[] {
  const scheme = opts.scheme ?? "http";
  if (opts.addressType !== undefined) return familyUrls(slices, opts.addressType, portName, scheme);
  for (const family of ["IPv4", "IPv6", "FQDN"] as const) {
    const urls = familyUrls(slices, family, portName, scheme);
    if (urls.length > 0) return urls;
  }
  return [];
}

/**
 * A list+watch of the slices of one Service. `start` lists, then watches; `onSlices` receives
 * the full current set after the list and after every change; `onError` means the source is dead
 * (the discovery drops it and starts a fresh one after a backoff).
 */
export interface SliceSource {
  start(
    onSlices: (slices: readonly EndpointSliceLike[], fromList: boolean) => void,
    onError: (err: unknown) => void,
  ): Promise<void>;
  stop(): void;
}

export interface KubernetesDiscoveryConfig {
  kind: "kubernetes";
  namespace: string;
  /** Service name (the `kubernetes.io/service-name` label of its EndpointSlices). */
  service: string;
  /** Name of the Service port to use; default: a slice's only (or unnamed) port. */
  portName?: string;
  scheme?: "http" | "https";
  addressType?: SliceAddressType;
  /** Path of a kubeconfig file; default: client-node's default chain (incl. in-cluster). */
  kubeconfig?: string;
  /** Backoff before a re-list after an error, ms (default 1 s doubling to 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** List/watch errors (the last set stays in use). */
  onError?: (err: Error) => void;
  /** Builds the list+watch source (default: client-node's informer). A seam for tests. */
  sourceFactory?: (labelSelector: string) => SliceSource | Promise<SliceSource>;
}

export class KubernetesDiscovery implements Discovery {
  private readonly cfg: Omit<KubernetesDiscoveryConfig, "kind">;
  private readonly labelSelector: string;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private backoffMs: number;
  private source: SliceSource | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private last: string[] | undefined;
  private onChange: ((urls: string[]) => void) | undefined;

  constructor(cfg: Omit<KubernetesDiscoveryConfig, "kind">) {
    if (cfg.namespace === "" || cfg.service === "")
      throw new Error("kubernetes discovery needs a namespace and a service");
    this.cfg = cfg;
    this.labelSelector = `kubernetes.io/service-name=${cfg.service}`;
    this.backoffInitialMs = Math.max(1, cfg.backoffInitialMs ?? 1_000);
    this.backoffMaxMs = Math.max(this.backoffInitialMs, cfg.backoffMaxMs ?? 30_000);
    this.backoffMs = this.backoffInitialMs;
  }

  /** Lists once (reporting the set or the error), then watches; resolves after the first attempt. */
  async start(onChange: (urls: string[]) => void): Promise<void> {
    this.stop();
    this.onChange = onChange;
    this.last = undefined; // a (re)start reports the set even when it did not change
    await this.connect(this.generation);
  }

  stop(): void {
    this.generation++;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.stop();
    this.source = undefined;
  }

  private async connect(gen: number): Promise<void> {
    let source: SliceSource;
    try {
      source = await (this.cfg.sourceFactory ?? ((sel) => this.informerSource(sel)))(this.labelSelector);
    } catch (err) {
      this.fail(gen, err);
      return;
    }
    if (gen !== this.generation) {
      source.stop();
      return;
    }
    this.source = source;
    let failed = false;
    await source
      .start(
        (slices, fromList) => {
          if (gen !== this.generation || failed) return;
          if (fromList) this.backoffMs = this.backoffInitialMs;
          this.report(slices);
        },
        (err) => {
          if (failed) return;
          failed = true;
          source.stop();
          if (this.source === source) this.source = undefined;
          this.fail(gen, err);
        },
      )
      .catch((err: unknown) => {
        if (failed) return;
        failed = true;
        source.stop();
        if (this.source === source) this.source = undefined;
        this.fail(gen, err);
      });
  }

  private report(slices: readonly EndpointSliceLike[]): void {
    let urls: string[];
    try {
      urls = endpointSlicesToUrls(slices, this.cfg.portName, {
        ...(this.cfg.scheme ? { scheme: this.cfg.scheme } : {}),
        ...(this.cfg.addressType ? { addressType: this.cfg.addressType } : {}),
      });
    } catch (err) {
      this.cfg.onError?.(toError(err, `EndpointSlices of ${this.cfg.namespace}/${this.cfg.service}`));
      return;
    }
    if (this.last !== undefined && sameUrls(this.last, urls)) return;
    this.last = urls;
    this.onChange?.([...urls]);
  }

  private fail(gen: number, err: unknown): void {
    if (gen !== this.generation) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMaxMs, this.backoffMs * 2);
    this.cfg.onError?.(
      toError(
        err,
        `watching EndpointSlices of ${this.cfg.namespace}/${this.cfg.service} (re-list in ${delay} ms)`,
      ),
    );
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect(gen);
    }, delay);
    this.retryTimer.unref();
  }

  /** The default source: client-node's ListWatch informer on discovery.k8s.io/v1. */
  private async informerSource(labelSelector: string): Promise<SliceSource> {
    const k8s = await import("@kubernetes/client-node");
    const kc: KubeConfig = new k8s.KubeConfig();
    if (this.cfg.kubeconfig !== undefined) kc.loadFromFile(this.cfg.kubeconfig);
    else kc.loadFromDefault();
    const api = kc.makeApiClient(k8s.DiscoveryV1Api);
    const namespace = this.cfg.namespace;
    const path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;
    let emitList: ((slices: readonly EndpointSliceLike[]) => void) | undefined;
    const informer = new k8s.ListWatch(
      path,
      new k8s.Watch(kc),
      async () => {
        const list = await api.listNamespacedEndpointSlice({ namespace, labelSelector });
        emitList?.(list.items);
        return list;
      },
      false, // started by start()
      labelSelector,
    );
    return {
      async start(onSlices, onError) {
        emitList = (slices) => onSlices(slices, true);
        const changed = () => onSlices(informer.list(namespace), false);
        informer.on("add", changed);
        informer.on("update", changed);
        informer.on("delete", changed);
        informer.on("error", (err?: unknown) => onError(err ?? new Error("watch failed")));
        await informer.start();
      },
      stop() {
        emitList = undefined;
        void informer.stop();
      },
    };
  }
}

function toError(err: unknown, context: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return new Error(`${context}: ${e.message}`, { cause: e });
}
