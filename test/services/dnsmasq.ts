// dnsmasq (Debian `dnsmasq-base`): a throwaway DNS server on a loopback port, answering only for the
// names it is given. A/AAAA records live in a hosts file that setHosts() rewrites (then SIGHUP makes
// dnsmasq re-read it); SRV records are fixed at start. `--local=/<domain>/` makes it answer like an
// authoritative server for the test domain (NXDOMAIN / NODATA instead of REFUSED).
import { promises as dns } from "node:dns";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, freePort, HOST, makeDataDir, type Service, spawnService } from "./harness.js";

export interface SrvRecord {
  /** `_http._tcp.vllm.test` */
  service: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface DnsmasqOptions {
  /** Domain the server answers for authoritatively (default "test"). */
  domain?: string;
  /** name → addresses (IPv4 and/or IPv6). */
  hosts?: Readonly<Record<string, readonly string[]>>;
  srv?: readonly SrvRecord[];
  readyTimeoutMs?: number;
}

export interface DnsmasqService extends Service {
  readonly port: number;
  /** `127.0.0.1:PORT`, for `Resolver.setServers([server])`. */
  readonly server: string;
  /** Replaces every A/AAAA record and makes dnsmasq re-read them (resolves once the signal is sent). */
  setHosts(hosts: Readonly<Record<string, readonly string[]>>): Promise<void>;
}

function hostsFile(hosts: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(hosts)
    .flatMap(([name, addrs]) => addrs.map((a) => `${a} ${name}`))
    .join("\n")
    .concat("\n");
}

export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<DnsmasqService> {
  const bin = await ensureBinary("dnsmasq", "dnsmasq");
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("dnsmasq")]);
  const domain = opts.domain ?? "test";
  const hostsPath = join(dataDir, "hosts");
  // A sentinel record for the readiness probe, kept across setHosts().
  const sentinel = `ready.${domain}`;
  const withSentinel = (h: Readonly<Record<string, readonly string[]>>) => ({
    ...h,
    [sentinel]: ["127.0.0.1"],
  });
  await writeFile(hostsPath, hostsFile(withSentinel(opts.hosts ?? {})));
  const args = [
    "--keep-in-foreground",
    "--conf-file=/dev/null", // ignore /etc/dnsmasq.conf
    "--no-resolv",
    "--no-hosts",
    `--port=${port}`,
    `--listen-address=${HOST}`,
    "--bind-interfaces",
    "--pid-file=", // no pid file
    "--log-facility=-", // stderr, captured by the harness
    `--local=/${domain}/`,
    `--addn-hosts=${hostsPath}`,
    "--cache-size=0", // answers follow setHosts() at once
  ];
  // As root dnsmasq drops to `nobody`, which could not re-read the hosts file in our 0700 data dir.
  if (process.getuid?.() === 0) args.push("--user=root");
  for (const r of opts.srv ?? []) {
    args.push(`--srv-host=${r.service},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
  }
  const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`${HOST}:${port}`]);
  const svc = await spawnService({
    name: "dnsmasq",
    cmd: bin,
    args,
    dataDir,
    ready: async () => (await resolver.resolve4(sentinel)).includes("127.0.0.1"),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return Object.assign(svc, {
    port,
    server: `${HOST}:${port}`,
    setHosts: async (hosts: Readonly<Record<string, readonly string[]>>) => {
      await writeFile(hostsPath, hostsFile(withSentinel(hosts)));
      process.kill(svc.pid, "SIGHUP");
    },
  });
}
