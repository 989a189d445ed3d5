/**
 * The scripts a replica runs in one turn of its event loop for one tenant, sent as one script.
 *
 * A call that the cache will likely not answer checks its rate limits (requests and tokens) and
 * reserves its budget in one turn (`pipeline/ahead.ts`), and at load the calls a turn serves do
 * the same, or settle: each was its own `EVALSHA` — a command object, a timer, a reply and a
 * promise on the replica, a script call on Redis — though all of them already left in one write
 * (`tickCorker`). Now the scripts of one turn whose keys share a hash tag (a tenant: one
 * operation's keys always do) are one script call, `BATCH`, that runs each as it would have run
 * alone, one after the other in the order issued — what Redis did with them sent in one write —
 * and answers each its own reply. One operation's Lua error (`error()`, a failed `redis.call`)
 * is its own rejection, caught by `pcall`, not its batch's. Nothing waits longer: the batch is
 * sent just before the turn's write leaves.
 */

/**
 * The most operations one batch script runs: a busy tenant's turn can hold hundreds, and one script
 * holds Redis for all of them (and ioredis spreads every argument into one call); past this, the
 * turn's next operations start another batch, sent in the same write.
 */
export const MAX_BATCH = 128;

/** One script the batch can run: its body, a Lua chunk over `KEYS` and `ARGV` that returns its reply. */
export type TurnOps<Name extends string> = Readonly<Record<Name, string>>;

export interface TurnBatcher<Name extends string> {
  /** The batch script (for the script runner: its SHA, loaded on first use). */
  readonly lua: string;
  /**
   * Queues operation `name` (keys prefixed) for the end of the turn; resolves to its script's reply.
   * Undefined when its keys share no hash tag, so it cannot join a batch: send it alone.
   */
  add(name: Name, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> | undefined;
  /** Sends every queued batch; called once per turn, before the turn's write leaves. */
  flush(): void;
}

/** One queued operation. */
interface Queued {
  op: number;
  keys: number;
  args: number;
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/** The operations of one turn under one hash tag. */
interface Batch {
  keys: string[];
  args: (string | number)[];
  queued: Queued[];
}

/**
 * `prelude` is Lua the bodies share (local functions), put once in front of them; `send(lua,
 * keys, args)` runs the batch script; `turnStarted()` makes sure `flush` runs at the end of this
 * turn (the corker's end-of-turn callback).
 */
export function createTurnBatcher<Name extends string>(
  ops: TurnOps<Name>,
  prelude: string,
  send: (lua: string, keys: string[], args: (string | number)[]) => Promise<unknown>,
  turnStarted: () => void,
): TurnBatcher<Name> {
  const names = Object.keys(ops) as Name[];
  const index = new Map<Name, number>(names.map((name, i) => [name, i + 1]));
  const lua = batchScript(prelude, names.map((name) => ops[name]));
  let batches = new Map<string, Batch>();
  /** Batches of this turn that reached {@link MAX_BATCH} operations, sent with the rest. */
  let full: Batch[] = [];

  const sendBatch = (batch: Batch): void => {
    const { queued } = batch;
    // ARGV: the number of operations, then per operation its index, key count and argument count, then every operation's arguments.
    const args: (string | number)[] = [queued.length];
    for (const q of queued) args.push(q.op, q.keys, q.args);
    for (const a of batch.args) args.push(a);
    send(lua, batch.keys, args).then(
      (reply) => {
        const replies = reply as [number, unknown][];
        for (let i = 0; i < queued.length; i++) {
          const answer = replies[i]!;
          if (answer[0] === 1) queued[i]!.resolve(answer[1]);
          else queued[i]!.reject(new Error(String(answer[1])));
        }
      },
      (err: unknown) => {
        for (const q of queued) q.reject(err);
      },
    );
  };

  return {
    lua,
    add(name, keys, args) {
      const tag = sharedTag(keys);
      if (tag === undefined) return undefined;
      let batch = batches.get(tag);
      if (batch !== undefined && batch.queued.length >= MAX_BATCH) {
        full.push(batch);
        batch = undefined;
      }
      if (batch === undefined) {
        if (batches.size === 0 && full.length === 0) turnStarted();
        batch = { keys: [], args: [], queued: [] };
        batches.set(tag, batch);
      }
      for (const key of keys) batch.keys.push(key);
      for (const a of args) batch.args.push(a);
      const into = batch;
      return new Promise<unknown>((resolve, reject) => into.queued.push({ op: index.get(name)!, keys: keys.length, args: args.length, resolve, reject }));
    },
    flush() {
      if (batches.size === 0) return;
      const due = [...full, ...batches.values()];
      batches = new Map();
      full = [];
      for (const batch of due) sendBatch(batch);
    },
  };
}

/**
 * The batch script: each body as a function of its own `KEYS` and `ARGV` (the parameters shadow
 * the script's), called in order under `pcall`; the reply holds `{1, reply}` or `{0, error}` per
 * operation (an error thrown, or returned as `redis.error_reply` would return it alone).
 */
function batchScript(prelude: string, bodies: readonly string[]): string {
  return `${prelude}
local ops = {
${bodies.map((body) => `function(KEYS, ARGV)\n${body}\nend`).join(",\n")}
}
local count = tonumber(ARGV[1])
local k, a = 0, 1 + 3 * count
local out = {}
for i = 1, count do
  local op = ops[tonumber(ARGV[3 * i - 1])]
  local nk, na = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local keys, args = {}, {}
  for j = 1, nk do keys[j] = KEYS[k + j] end
  for j = 1, na do args[j] = ARGV[a + j] end
  k, a = k + nk, a + na
  local ok, reply = pcall(op, keys, args)
  if type(reply) == 'table' and reply.err then
    out[i] = {0, reply.err}
  elseif ok then
    out[i] = {1, reply}
  else
    out[i] = {0, tostring(reply)}
  end
end
return out
`;
}

/**
 * The Redis Cluster hash tag every key shares (the text between the first `{` and the next `}`,
 * when not empty), or undefined when they do not all have the same one.
 */
export function sharedTag(keys: readonly string[]): string | undefined {
  let tag: string | undefined;
  for (const key of keys) {
    const open = key.indexOf("{");
    if (open < 0) return undefined;
    const close = key.indexOf("}", open + 1);
    if (close <= open + 1) return undefined;
    // One string for the first key's tag; the others are compared in place.
    if (tag === undefined) tag = key.slice(open + 1, close);
    else if (close - open - 1 !== tag.length || !key.startsWith(tag, open + 1)) return undefined;
  }
  return tag;
}
