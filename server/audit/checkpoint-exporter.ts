import { appendFile } from "node:fs/promises";
import { hostname } from "node:os";
import { systemClock, type Clock } from "../clock.js";
import { withUrlCredentials } from "../http/url-credentials.js";
import type { Logger } from "../observability/logger.js";
import { withoutUrl } from "../observability/log-redaction.js";
import type { AuditStore } from "../store/audit-store.js";
import { checkpointJson, signCheckpoint, type AuditCheckpoint } from "./checkpoint.js";

/** Dependencies of {@link createCheckpointExporter}. */
export interface CheckpointExporterDeps {
  /** Where the head is read (`AuditLog.store`). */
  store: Pick<AuditStore, "head">;
  logger: Logger;
  clock?: Clock;
  /** Signs every checkpoint (`checkpointSigningKey(pepper)`); absent: unsigned. */
  signingKey?: Buffer;
  /** For the webhook (default the global `fetch`). */
  fetch?: typeof fetch;
}

/** Options of {@link createCheckpointExporter}. */
export interface CheckpointExporterOptions {
  /** How often the head is exported while it moves (`audit.checkpointIntervalMs`); 0: only on demand and at stop. */
  intervalMs: number;
  /** Append one JSON line per checkpoint to this file (`audit.checkpointFile`); absent: no file. */
  file?: string;
  /**
   * POST each checkpoint's JSON here (`audit.checkpointWebhookUrl`); absent: no webhook. Userinfo
   * (`https://user:pass@host/…`) is sent as an `Authorization: Basic` header (`withUrlCredentials`).
   */
  webhookUrl?: string;
  /** How long a webhook POST may take (default 5 000 ms). */
  webhookTimeoutMs?: number;
  /** Names this process in every checkpoint (default `host/pid`, as the audit log does). */
  replica?: string;
}

/** Exports the audit chain's head outside the database. */
export interface CheckpointExporter {
  /** Starts the periodic export (a no-op with `intervalMs` 0 or when started already). */
  start(): void;
  /**
   * Reads the head and writes it to every sink now, whether or not it moved; resolves with the
   * checkpoint, or undefined when the head could not be read (logged). A sink that fails is
   * logged and retried at the next tick; it never throws.
   */
  exportNow(): Promise<AuditCheckpoint | undefined>;
  /** Stops the timer, waits for a running export, and exports once more (shutdown). */
  stop(): Promise<void>;
}

/**
 * Creates the exporter of audit checkpoints (RELIABILITY §3.5: external commitments to the
 * chain). Every `intervalMs`, when the head moved since the last export that every sink took,
 * it writes the head's sequence and hash, the time and the replica, signed: always to the log
 * (info, `auditCheckpoint`), and when configured as a line appended to a file and as a JSON POST
 * to a webhook. Exports never overlap; the timer does not keep the process alive.
 */
export function createCheckpointExporter(deps: CheckpointExporterDeps, opts: CheckpointExporterOptions): CheckpointExporter {
  const clock = deps.clock ?? systemClock;
  const doFetch = deps.fetch ?? fetch;
  const replica = opts.replica ?? `${hostname()}/${process.pid}`;
  const timeoutMs = opts.webhookTimeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<AuditCheckpoint | undefined> = Promise.resolve(undefined);
  /** The head every sink took last; a tick exports only past it. */
  let exported: { sequence: bigint; hash: string } | undefined;

  const toFile = async (line: string): Promise<boolean> => {
    if (opts.file === undefined) return true;
    try {
      await appendFile(opts.file, `${line}\n`, { encoding: "utf8", mode: 0o600, flag: "a" });
      return true;
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, file: opts.file }, "audit checkpoint: cannot append to the checkpoint file");
      return false;
    }
  };
  const toWebhook = async (line: string): Promise<boolean> => {
    if (opts.webhookUrl === undefined) return true;
    try {
      const sent = withUrlCredentials(opts.webhookUrl, { "content-type": "application/json" });
      const res = await doFetch(sent.url, { method: "POST", headers: sent.headers, body: line, signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      if (res.ok) return true;
      deps.logger.warn({ status: res.status }, "audit checkpoint: the webhook refused the checkpoint");
    } catch (err) {
      // The URL may carry a token: only the error's message is logged, without the URL (an
      // error's message may quote it, an invalid one whole).
      deps.logger.warn({ err: withoutUrl((err as Error).message, opts.webhookUrl) }, "audit checkpoint: the webhook could not be reached");
    }
    return false;
  };

  const exportHead = async (force: boolean): Promise<AuditCheckpoint | undefined> => {
    let head: { sequence: bigint; hash: string };
    try {
      head = await deps.store.head();
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, "audit checkpoint: cannot read the chain head");
      return undefined;
    }
    if (!force && exported !== undefined && exported.sequence === head.sequence && exported.hash === head.hash) return undefined;
    const unsigned = { sequence: head.sequence, hash: head.hash, time: new Date(clock.now()), replica };
    const checkpoint: AuditCheckpoint = { ...unsigned, signature: deps.signingKey === undefined ? "" : signCheckpoint(unsigned, deps.signingKey) };
    const line = checkpointJson(checkpoint);
    deps.logger.info({ auditCheckpoint: JSON.parse(line) as unknown }, "audit checkpoint");
    const [file, webhook] = await Promise.all([toFile(line), toWebhook(line)]);
    if (file && webhook) exported = head;
    return checkpoint;
  };
  const enqueue = (force: boolean): Promise<AuditCheckpoint | undefined> => {
    running = running.then(() => exportHead(force));
    return running;
  };

  return {
    start() {
      if (opts.intervalMs <= 0 || timer !== undefined) return;
      timer = setInterval(() => void enqueue(false), opts.intervalMs);
      timer.unref();
    },
    exportNow: () => enqueue(true),
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await enqueue(true);
    },
  };
}
