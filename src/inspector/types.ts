/** Options of `system.inspect()`. */
export interface InspectOptions {
  /** TCP port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Interface to listen on. Anything but loopback exposes the page (still behind the access
   * token) to the network.
   * @default "127.0.0.1"
   */
  host?: string;
  /** Let the page call agents through the Catalog form. @default false (read-only) */
  allowCalls?: boolean;
  /**
   * Where the page's address is announced: a function given the line, or `false` for silence.
   * @default one line on stdout
   */
  print?: false | ((line: string) => void);
}

/** A running inspector: the page's address (with its access token) and how to stop it. */
export interface Inspector {
  /** The page, e.g. `http://127.0.0.1:41234/?token=…`; every request must carry the token. */
  readonly url: string;
  /** Stops the server and ends every open page's live feed. Idempotent. */
  close(): Promise<void>;
}
