import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/ts/grpc/health/v1/health_pb.js";

export { ServingStatus };

/**
 * The serving status of the server ("" = the server as a whole) and of each
 * named service, as reported by `grpc.health.v1.Health`. The server owns one
 * and flips it: readiness changes with `set`, SIGTERM drain with `shutdown`.
 */
export interface HealthStatus {
  /**
   * Registers or updates a service's status and notifies its watchers.
   * Ignored after `shutdown()`, so a late readiness change cannot undo a drain.
   * `SERVICE_UNKNOWN` is not a status a service can have (it is what Watch
   * reports for an unregistered name) and throws a `RangeError`.
   */
  set(service: string, status: ServingStatus): void;
  /** The service's status, or `undefined` if it was never registered. */
  get(service: string): ServingStatus | undefined;
  /** A snapshot of every registered service and its status. */
  entries(): Array<[service: string, status: ServingStatus]>;
  /**
   * Marks every registered service `NOT_SERVING` for good and ends all
   * watches after they have reported it, so that open Watch streams do not
   * keep HTTP/2 sessions (and a graceful close) waiting.
   */
  shutdown(): void;
  /** Whether `shutdown()` was called. */
  readonly isShutdown: boolean;
  /**
   * The service's status now (`SERVICE_UNKNOWN` if unregistered), then each
   * change. Changes a slow reader has not consumed yet are coalesced into the
   * latest status and repeats are dropped, so a watcher holds no queue. Ends
   * when `signal` aborts or after `shutdown()`.
   */
  watch(service: string, signal: AbortSignal): AsyncIterable<ServingStatus>;
}

/** Options for {@link createHealthStatus}. */
export interface HealthStatusOptions {
  /** Named services to register besides "" (the whole server). */
  services?: Iterable<string>;
  /** The status they all start with. Default: `SERVING`, like grpc-go. */
  initial?: ServingStatus;
}

/** Creates a {@link HealthStatus} with "" and `opts.services` registered. */
export function createHealthStatus(opts: HealthStatusOptions = {}): HealthStatus {
  const initial = opts.initial ?? ServingStatus.SERVING;
  const statuses = new Map<string, ServingStatus>([["", initial]]);
  for (const service of opts.services ?? []) statuses.set(service, initial);
  const watchers = new Map<string, Set<() => void>>();
  let isShutdown = false;

  const notify = (service: string) => {
    for (const wake of watchers.get(service) ?? []) wake();
  };
  const listen = (service: string, wake: () => void) => {
    let group = watchers.get(service);
    if (!group) {
      group = new Set();
      watchers.set(service, group);
    }
    group.add(wake);
    return () => {
      group.delete(wake);
      if (group.size === 0 && watchers.get(service) === group) watchers.delete(service);
    };
  };

  return {
    get isShutdown() {
      return isShutdown;
    },
    set(service, status) {
      if (status === ServingStatus.SERVICE_UNKNOWN) {
        throw new RangeError("SERVICE_UNKNOWN is reported by Watch only; it cannot be set");
      }
      if (isShutdown || statuses.get(service) === status) return;
      statuses.set(service, status);
      notify(service);
    },
    get: (service) => statuses.get(service),
    entries: () => [...statuses],
    shutdown() {
      if (isShutdown) return;
      isShutdown = true;
      for (const service of statuses.keys()) statuses.set(service, ServingStatus.NOT_SERVING);
      for (const service of [...watchers.keys()]) notify(service);
    },
    async *watch(service, signal) {
      let changed = false;
      let wakeUp: (() => void) | undefined;
      const wake = () => {
        changed = true;
        wakeUp?.();
      };
      const unlisten = listen(service, wake);
      // Release on abort itself, not only in `finally`: a transport may leave
      // this generator suspended at a `yield` forever once its caller is gone.
      const stop = () => {
        unlisten();
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        stop();
        wake();
      };
      signal.addEventListener("abort", onAbort);
      try {
        let last: ServingStatus | undefined;
        while (!signal.aborted) {
          const current = statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (current !== last) {
            last = current;
            yield current;
            continue; // re-read: the status may have moved while the reader was away
          }
          if (isShutdown) return;
          if (!changed) await new Promise<void>((resolve) => (wakeUp = resolve));
          changed = false;
          wakeUp = undefined;
        }
      } finally {
        stop();
      }
    },
  };
}

/** Options for {@link createHealthService}. */
export interface HealthServiceOptions {
  /** The status holder the service reports. */
  status: HealthStatus;
  /** `List` fails with `ResourceExhausted` above this many services. Default 100, like grpc-go. */
  maxListServices?: number;
}

/**
 * Creates the implementation of `grpc.health.v1.Health` over a
 * {@link HealthStatus}: `Check` answers "" (the whole server) or a registered
 * service and fails with `NotFound` for any other name; `Watch` streams the
 * status and its changes (an unknown name is reported as `SERVICE_UNKNOWN`
 * and the stream stays open, as the protocol asks) until the caller goes away
 * or the server shuts down; `List` returns a snapshot of all services.
 *
 * Register with `router.service(Health, createHealthService({ status }))`.
 */
export function createHealthService(opts: HealthServiceOptions): ServiceImpl<typeof Health> {
  const { status } = opts;
  const maxListServices = opts.maxListServices ?? 100;
  return {
    check(request) {
      const current = status.get(request.service);
      if (current === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: current };
    },
    async *watch(request, context) {
      for await (const current of status.watch(request.service, context.signal)) {
        yield { status: current };
      }
    },
    list() {
      const entries = status.entries();
      if (entries.length > maxListServices) {
        throw new ConnectError(
          `${entries.length} services exceed the limit of ${maxListServices} for List; use Check or Watch per service`,
          Code.ResourceExhausted,
        );
      }
      return { statuses: Object.fromEntries(entries.map(([service, s]) => [service, { status: s }])) };
    },
  };
}
