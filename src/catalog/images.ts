/**
 * Container image facts the linter reads: which probe tools a base image ships (and which it is
 * known not to), and which images do nothing useful unless started with a given command.
 *
 * Data, not logic. Each entry cites the Dockerfile or document it comes from. An image that
 * matches no entry is unknown: nothing is claimed about it.
 */

export interface ImageTools {
  /** Matched against the image reference without registry `docker.io/` or `library/`. */
  match: RegExp;
  /** What the entry covers, for messages. */
  family: string;
  /** Programs on PATH that health checks commonly call and the image has. */
  ships: readonly string[];
  /** Programs it is known not to have; "all-else": nothing but `ships` is there (distroless). */
  lacks: readonly string[] | "all-else";
  /** How to add a missing tool in a Dockerfile built on it. */
  install: string;
}

export const IMAGE_TOOLS: readonly ImageTools[] = [
  {
    // github.com/GoogleContainerTools/distroless README: "Distroless images contain only your
    // application and its runtime dependencies. They do not contain package managers, shells or
    // any other programs". The :debug tags add busybox, so they are left unknown.
    match: /^gcr\.io\/distroless\/(static|base|cc)(-debian\d+)?(:(?!debug)[^/]+)?$/,
    family: "distroless (no shell, no tools)",
    ships: [],
    lacks: "all-else",
    install: "distroless has no package manager: probe over HTTP/TCP/gRPC, or COPY a static probe binary in",
  },
  {
    match: /^gcr\.io\/distroless\/python3(-debian\d+)?(:(?!debug)[^/]+)?$/,
    family: "distroless python3",
    ships: ["python3", "python"],
    lacks: "all-else",
    install: "distroless has no package manager: probe with python3 -c, or over HTTP/TCP/gRPC",
  },
  {
    match: /^gcr\.io\/distroless\/java\d*(-debian\d+)?(:(?!debug)[^/]+)?$/,
    family: "distroless java",
    ships: ["java"],
    lacks: "all-else",
    install: "distroless has no package manager: probe over HTTP/TCP/gRPC",
  },
  {
    match: /^gcr\.io\/distroless\/nodejs\d*(-debian\d+)?(:(?!debug)[^/]+)?$/,
    family: "distroless nodejs",
    ships: ["node"],
    lacks: "all-else",
    install: "distroless has no package manager: probe with node -e, or over HTTP/TCP/gRPC",
  },
  {
    // docs.docker.com "Create a minimal base image using scratch": an explicitly empty image.
    match: /^scratch$/,
    family: "scratch (empty)",
    ships: [],
    lacks: "all-else",
    install: "scratch holds only what is copied in: COPY a static probe binary, or probe from outside",
  },
  {
    // busybox.net applet list: sh, wget, nc, … are applets; curl and bash are not.
    match: /^busybox(:[^/]+)?$/,
    family: "busybox",
    ships: ["sh", "wget", "nc"],
    lacks: ["curl", "bash"],
    install: "use busybox's wget -qO- instead of curl",
  },
  {
    // alpine's rootfs is musl + busybox + apk-tools (alpinelinux.org "about"); curl and bash are
    // separate packages.
    match: /^alpine(:[^/]+)?$/,
    family: "alpine",
    ships: ["sh", "wget", "nc"],
    lacks: ["curl", "bash"],
    install: "RUN apk add --no-cache curl (or use busybox's wget -qO-)",
  },
  {
    // docker-library/python …/alpine*/Dockerfile and docker-library/node …/alpine*/Dockerfile:
    // build tools are a virtual `.build-deps` package deleted in the same RUN (`apk del`), and
    // no curl or bash is added for run time; the runtime sits on alpine's busybox.
    match: /^(python|node):[^/]*alpine[^/]*$/,
    family: "python/node alpine",
    ships: ["sh", "wget", "nc", "python", "python3", "node", "npm"],
    lacks: ["curl", "bash"],
    install: "RUN apk add --no-cache curl (or use busybox's wget -qO-)",
  },
  {
    // adoptium/containers …/alpine/Dockerfile: the JRE on alpine, whose busybox has wget. Nothing
    // is claimed missing: the package list has changed between releases.
    match: /^eclipse-temurin:[^/]*alpine[^/]*$/,
    family: "eclipse-temurin alpine",
    ships: ["sh", "wget", "java"],
    lacks: [],
    install: "",
  },
  {
    // docker-library/python …/slim-*/Dockerfile installs only ca-certificates, netbase and tzdata
    // at run time and purges its build dependencies (`apt-mark auto` + `apt-get purge`).
    match: /^python:[^/]*slim[^/]*$/,
    family: "python slim (Debian)",
    ships: ["sh", "bash", "python", "python3", "pip"],
    lacks: ["curl", "wget"],
    install:
      "RUN apt-get update && apt-get install -y --no-install-recommends curl (or probe with python3 -c)",
  },
  {
    // docker-library/node …/bookworm-slim/Dockerfile: curl and wget are fetched for the
    // download, then `apt-mark auto` + `apt-get purge --auto-remove` removes them.
    match: /^node:[^/]*slim[^/]*$/,
    family: "node slim (Debian)",
    ships: ["sh", "bash", "node", "npm"],
    lacks: ["curl", "wget"],
    install: "RUN apt-get update && apt-get install -y --no-install-recommends curl (or probe with node -e)",
  },
  {
    // docker-library/python and docker-library/node full tags build on buildpack-deps, whose
    // `curl` variant installs curl and wget (docker-library/buildpack-deps …/curl/Dockerfile).
    match: /^(python|node):[0-9][^/]*$/,
    family: "python/node (buildpack-deps)",
    ships: ["sh", "bash", "curl", "wget", "python", "python3", "node", "npm"],
    lacks: [],
    install: "",
  },
  {
    // The Debian and Ubuntu official images are minimal debootstrap roots: no curl, no wget
    // (docker-library/official-images "debian", "ubuntu"; `docker run ubuntu curl` → not found).
    match: /^(debian|ubuntu)(:[^/]+)?$/,
    family: "Debian/Ubuntu base",
    ships: ["sh", "bash"],
    lacks: ["curl", "wget"],
    install: "RUN apt-get update && apt-get install -y --no-install-recommends curl",
  },
  {
    // gitlab.com/nvidia/container-images/cuda dist/<ver>/ubuntu2204/base/Dockerfile installs curl
    // only to fetch the cuda-keyring, then `apt-get purge --autoremove -y curl`; the runtime and
    // cudnn-runtime images add CUDA libraries only.
    match: /^nvidia\/cuda:[0-9.]+-(cudnn\d*-)?(base|runtime)-ubuntu[0-9.]+$/,
    family: "nvidia/cuda base/runtime (Ubuntu)",
    ships: ["sh", "bash"],
    lacks: ["curl", "wget"],
    install: "RUN apt-get update && apt-get install -y --no-install-recommends curl",
  },
  {
    // milvus-io/milvus build/docker/milvus/ubuntu22.04/Dockerfile: apt-get install … curl …;
    // the official docker-compose health check is `curl -f http://localhost:9091/healthz`.
    match: /^milvusdb\/milvus(:[^/]+)?$/,
    family: "Milvus",
    ships: ["sh", "bash", "curl"],
    lacks: [],
    install: "",
  },
  {
    // elastic.co "Install Elasticsearch with Docker": the compose example checks health with curl.
    match: /^(docker\.elastic\.co\/elasticsearch\/)?elasticsearch(:[^/]+)?$/,
    family: "Elasticsearch",
    ships: ["sh", "bash", "curl"],
    lacks: [],
    install: "",
  },
];

/** An image whose default command does nothing useful: it must be started with one of these. */
export interface RequiredCommand {
  match: RegExp;
  family: string;
  /** Satisfied when the joined entrypoint/command/args match. */
  requires: RegExp;
  /** The usual command, for the fix hint (compose `command:` form). */
  example: readonly string[];
  /** What happens without it. */
  without: string;
}

// Milvus roles `milvus run <role>` accepts (milvus-io/milvus cmd/roles; the Helm chart and the
// operator start one workload per role, or `standalone` for all in one process).
export const MILVUS_ROLES = [
  "standalone",
  "mixture",
  "proxy",
  "rootcoord",
  "querycoord",
  "datacoord",
  "indexcoord",
  "mixcoord",
  "querynode",
  "datanode",
  "indexnode",
  "streamingnode",
] as const;

export const REQUIRED_COMMANDS: readonly RequiredCommand[] = [
  {
    // milvus-io/milvus build/docker/milvus/ubuntu22.04/Dockerfile: `ENTRYPOINT ["/tini", "--"]`
    // and no CMD; scripts/standalone_embed.sh and the standalone docker-compose.yml run
    // `milvus run standalone`.
    match: /^milvusdb\/milvus(:[^/]+)?$/,
    family: "Milvus",
    requires: new RegExp(`\\bmilvus\\s+run\\s+(${MILVUS_ROLES.join("|")})\\b`),
    example: ["milvus", "run", "standalone"],
    without: "its ENTRYPOINT is tini with no CMD, so the container starts no Milvus at all",
  },
  {
    // minio/minio Dockerfile.release: `ENTRYPOINT ["/usr/bin/docker-entrypoint.sh"]`,
    // `CMD ["minio"]`; `minio` without the `server` subcommand prints its usage and exits.
    match: /^(quay\.io\/)?minio\/minio(:[^/]+)?$/,
    family: "MinIO",
    requires: /(^|\s)server\s+\S+/,
    example: ["minio", "server", "/data", "--console-address", ":9001"],
    without: "its default CMD is a bare `minio`, which prints usage and exits instead of serving",
  },
];

/** `docker.io/library/python:3.11` → `python:3.11`; a digest is dropped. */
export function normalizeImage(ref: string): string {
  return ref
    .trim()
    .replace(/@sha256:[0-9a-f]+$/, "")
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "")
    .replace(/^library\//, "");
}

export function imageTools(ref: string): ImageTools | undefined {
  const image = normalizeImage(ref);
  return IMAGE_TOOLS.find((t) => t.match.test(image));
}

export function requiredCommand(ref: string): RequiredCommand | undefined {
  const image = normalizeImage(ref);
  return REQUIRED_COMMANDS.find((t) => t.match.test(image));
}
