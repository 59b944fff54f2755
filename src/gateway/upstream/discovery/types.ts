/** What every endpoint discovery driver implements (static, DNS, Kubernetes). */
export interface Discovery {
  /**
   * Starts discovering; `onChange` gets the full, sorted URL set now (once the first lookup has
   * answered) and again whenever it changes. Resolves after the first lookup, successful or not
   * (failures go to the source's `onError`; they never empty a known set).
   */
  start(onChange: (urls: string[]) => void): Promise<void>;
  /** Stops discovering; no `onChange` after it returns. */
  stop(): void;
}
