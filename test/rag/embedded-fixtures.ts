// An embedded embedding replica's /metrics under load (names from src/engines/embedded/metrics.ts;
// test/rag/embedded-engine.test.ts checks that a real replica exposes these series).
export const EMBEDDED_LOADED = `# HELP inferplane_embedding_queue_depth Texts waiting in the queue.
# TYPE inferplane_embedding_queue_depth gauge
inferplane_embedding_queue_depth{model="bge-small-en-v1.5"} 12
# HELP inferplane_embedding_texts_running Texts in the current scheduling step.
# TYPE inferplane_embedding_texts_running gauge
inferplane_embedding_texts_running{model="bge-small-en-v1.5"} 4
`;
