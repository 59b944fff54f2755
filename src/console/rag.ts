// The RAG playground: search a collection (the retrieved chunks with their scores) or answer
// from it (the reply, the numbered sources it was given and the ones it cites). Calls go to the
// gateway's RAG API with the API key typed here, so they pass the same admission as any client.
import { $, call, errorText, h, post, table, value } from "./dom.js";

interface Hit {
  docId: string;
  chunkId: string;
  source: string;
  title?: string;
  score: number;
  text: string;
  index?: number;
}

interface Answer {
  choices?: { message?: { content?: string } }[];
  sources: Hit[];
  citations: { index: number; docId: string; chunkId: string; source: string }[];
  found: boolean;
}

const key = () => value("rag-key");
const excerpt = (t: string) => (t.length > 280 ? `${t.slice(0, 279)}…` : t);

function hitRows(hits: Hit[], cited = new Set<number>()): (string | Node)[][] {
  return hits.map((x, i) => [
    String(x.index ?? i + 1),
    x.score.toFixed(4),
    x.title ? `${x.title} (${x.docId})` : x.docId,
    x.source,
    excerpt(x.text),
    ...(x.index !== undefined ? [cited.has(x.index) ? "cited" : ""] : []),
  ]);
}

/** Lists the collections the key may use (the API filters them by its scopes). */
export async function loadCollections() {
  const select = $<HTMLSelectElement>("rag-collection");
  try {
    const list = (await call("/v1/rag/collections", {}, key())) as { data: { name: string }[] };
    const keep = select.value;
    select.replaceChildren(...list.data.map((c) => h("option", { value: c.name }, c.name)));
    if (list.data.some((c) => c.name === keep)) select.value = keep;
    $("rag-note").textContent = list.data.length
      ? ""
      : "No collection yet (create one with POST /v1/rag/collections).";
  } catch (err) {
    $("rag-note").textContent = `Collections: ${errorText(err)}`;
  }
}

$("rag-key").addEventListener("change", () => void loadCollections());

async function search() {
  const name = encodeURIComponent(value("rag-collection"));
  const body = { query: value("rag-query"), k: Number(value("rag-k")) || 5, mode: value("rag-mode") };
  const r = (await post(`/v1/rag/collections/${name}/search`, body, key())) as { data: Hit[] };
  return [
    table(
      `${r.data.length} chunks retrieved`,
      ["Rank", "Score", "Document", "Source", "Text"],
      hitRows(r.data),
    ),
  ];
}

async function answer() {
  const body = {
    query: value("rag-query"),
    collection: value("rag-collection"),
    k: Number(value("rag-k")) || 5,
    mode: value("rag-mode"),
    max_tokens: Number(value("rag-max")) || 128,
    temperature: 0,
  };
  const r = (await post("/v1/rag/answer", body, key())) as Answer;
  const cited = new Set(r.citations.map((c) => c.index));
  return [
    h("h3", {}, "Answer"),
    h("pre", { id: "rag-reply" }, r.choices?.[0]?.message?.content ?? ""),
    h("h3", {}, "Citations"),
    r.citations.length
      ? h(
          "ol",
          { id: "rag-citations" },
          ...r.citations.map((c) =>
            h(
              "li",
              { "data-cite": String(c.index) },
              `[${c.index}] ${c.docId} · ${c.source} · chunk ${c.chunkId}`,
            ),
          ),
        )
      : h(
          "p",
          { id: "rag-citations" },
          r.found ? "The reply cites none of its sources." : "Nothing relevant was found.",
        ),
    table(
      "Sources given to the model",
      ["#", "Score", "Document", "Source", "Text", "Cited"],
      hitRows(r.sources, cited),
    ),
  ];
}

for (const [id, run] of [
  ["rag-search", search],
  ["rag-answer", answer],
] as const) {
  $(id).addEventListener("click", async () => {
    const form = $<HTMLFormElement>("rag");
    if (!form.reportValidity()) return;
    const out = $("rag-out");
    out.replaceChildren(h("p", {}, "Working…"));
    try {
      out.replaceChildren(...(await run()));
    } catch (err) {
      out.replaceChildren(h("p", {}, `Failed: ${errorText(err)}`));
    }
  });
}
$("rag").addEventListener("submit", (e) => e.preventDefault());
