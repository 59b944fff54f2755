/**
 * Shapes shared by the deploy compiler: a Kubernetes object as plain data, and the files a
 * render produces. Generators build plain objects (so they serialize byte-stably and can be
 * diffed into overlay patches); validation wraps them in kubernetes-models afterwards.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Kubernetes object: apiVersion, kind, metadata, and the rest as plain JSON. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** One written file: a path relative to the output directory, and its exact bytes. */
export interface RenderedFile {
  path: string;
  content: string;
}

/** Where an object goes in the tree: the kustomization that lists it and the file holding it. */
export interface PlacedObject {
  /** File name inside its kustomization directory, e.g. `engines/vllm-qwen-7b.yaml`. */
  file: string;
  object: K8sObject;
}
