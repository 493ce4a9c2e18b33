// What differs between the OpenAI-compatible servers Loupe drives: one small file per kind, one line in index.ts.

export interface Provider {
  kind: string;
  /** How users call it. */
  label: string;
  /**
   * Extra request fields this server understands and Loupe needs: vLLM keeps special tokens when asked, so
   * Qwen2-VL's `<|box_start|>` tags reach the box parser.
   */
  extraBody?(opts: { keepSpecialTokens: boolean }): Record<string, unknown>;
  /** One line on how to start it with a vision model, for error messages. */
  serveHint: string;
}
