import { buildPath, type Path } from "@bufbuild/protobuf/reflect";
import type { ConnectError } from "@connectrpc/connect";
import { ChatRequestSchema, EmbedRequestSchema } from "../../gen/ts/switchboard/v1/capability_service_pb.js";
import { fieldViolation } from "../errors/field-violation.js";
import type { EmbedRequest, ModelRequest } from "../providers/model.js";
import type { EmbeddingModelLimits, ModelChatLimits, SamplingPenalty } from "../providers/provider.js";
import type { Candidate } from "./capabilities.js";

/**
 * The request fields as paths: `stop` is number 7 of ChatRequest and ChatStreamRequest alike, and
 * `dimensions` number 3 of EmbedRequest; the OpenAI surface's body fields have the same names,
 * which its error mapping reports as `param`.
 */
const STOP_PATH = buildPath(ChatRequestSchema).field(ChatRequestSchema.field.stop).toPath();
const DIMENSIONS_PATH = buildPath(EmbedRequestSchema).field(EmbedRequestSchema.field.dimensions).toPath();
/** The penalties' fields: numbers 10 and 11 of ChatRequest; `logit_bias` exists only on the OpenAI surface (named as its body names it). */
const PENALTY_PATHS: Record<SamplingPenalty, Path | string> = {
  frequencyPenalty: buildPath(ChatRequestSchema).field(ChatRequestSchema.field.frequencyPenalty).toPath(),
  presencePenalty: buildPath(ChatRequestSchema).field(ChatRequestSchema.field.presencePenalty).toPath(),
  logitBias: "logit_bias",
};
const PENALTY_NAMES: Record<SamplingPenalty, string> = { frequencyPenalty: "frequency_penalty", presencePenalty: "presence_penalty", logitBias: "logit_bias" };

/**
 * The candidates whose provider can take the request's options as its adapter bounds them
 * (`Provider.limits`): as many stop sequences as the chat request holds, every sampling penalty
 * it sets to a non-default value (absent from the declaration: not sent), and for an embeddings
 * request that asks for a size, a model that can give it — up to its own size, down to its least,
 * and none when it cannot shorten its vectors. A bound the provider does not declare, or a model
 * its catalog does not list, is left to the provider. Like the capability filter, a target that
 * cannot take the request is skipped before any attempt (nothing sent, nothing billed); when none
 * is left, the request is INVALID_ARGUMENT on the field, naming what the route's targets take.
 */
export function targetsThatTakeOptions(candidates: readonly Candidate[], request: ModelRequest | EmbedRequest, route: string): readonly Candidate[] {
  // A request that sets none of these (most) is answered with `candidates` itself: no copy per call.
  if ("inputs" in request) return request.dimensions === undefined ? candidates : takingDimensions(candidates, request.dimensions, route);
  return takingPenalties(takingStops(candidates, request, route), request, route);
}

function takingStops(candidates: readonly Candidate[], request: ModelRequest, route: string): readonly Candidate[] {
  const stops = request.stop?.length ?? 0;
  if (stops === 0) return candidates;
  const fit = candidates.filter((c) => (chatLimits(c)?.maxStopSequences ?? Infinity) >= stops);
  if (fit.length > 0) return fit;
  const most = Math.max(...candidates.map((c) => chatLimits(c)?.maxStopSequences ?? 0));
  const message =
    most === 0
      ? `no target of route "${route}" takes stop sequences (${candidates.map((c) => `${c.target.provider}/${c.target.model}`).join(", ")}); leave stop unset, or use a route to a model that takes it`
      : `${stops} stop sequences are more than any target of route "${route}" takes (at most ${most}); send at most ${most}`;
  return refuse(fieldViolation(STOP_PATH, message, "stop.provider_max_items"));
}

/** Whether the request sets `penalty` to a value that changes sampling (0 and an empty bias change nothing). */
function penaltySet(request: ModelRequest, penalty: SamplingPenalty): boolean {
  if (penalty === "logitBias") return request.logitBias !== undefined && Object.keys(request.logitBias).length > 0;
  const value = request[penalty];
  return value !== undefined && value !== 0;
}

const PENALTIES: readonly SamplingPenalty[] = ["frequencyPenalty", "presencePenalty", "logitBias"];

/**
 * The candidates whose adapter sends every penalty the request sets. A penalty is skipped-for
 * rather than dropped: a target that ignored it would answer differently than asked.
 */
function takingPenalties(candidates: readonly Candidate[], request: ModelRequest, route: string): readonly Candidate[] {
  let fit = candidates;
  for (const penalty of PENALTIES) {
    if (!penaltySet(request, penalty)) continue;
    fit = fit.filter((c) => takesPenalty(c, penalty));
    if (fit.length === 0) {
      const name = PENALTY_NAMES[penalty];
      const refusing = candidates.map((c) => (c.provider.limits?.forModel?.(c.target.model) !== undefined ? `${c.target.provider}/${c.target.model}` : c.target.provider));
      return refuse(
        fieldViolation(
          PENALTY_PATHS[penalty],
          `no target of route "${route}" that can serve this request takes ${name} (${[...new Set(refusing)].join(", ")} do not); leave it unset or 0, or use a route to a provider that takes it`,
          `${name}.provider_unsupported`,
        ),
      );
    }
  }
  return fit;
}

/** Whether the candidate's adapter sends `penalty` and its model takes it. */
function takesPenalty(c: Candidate, penalty: SamplingPenalty): boolean {
  return chatLimits(c)?.samplingPenalties?.includes(penalty) === true;
}

/** The stop and penalty bounds of the candidate's model: its adapter's, narrowed per model where it says so. */
function chatLimits(c: Candidate): Readonly<ModelChatLimits> | undefined {
  const limits = c.provider.limits;
  return limits?.forModel?.(c.target.model) ?? limits;
}

function takingDimensions(candidates: readonly Candidate[], dimensions: number, route: string): Candidate[] {
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    return refuse(fieldViolation(DIMENSIONS_PATH, `must be a positive whole number, not ${dimensions}`, "dimensions.positive"));
  }
  const modelOf = (c: Candidate): EmbeddingModelLimits | undefined => c.provider.limits?.embeddingModels?.[c.target.model];
  const fit = candidates.filter((c) => {
    const model = modelOf(c);
    return model === undefined || (model.minDimensions !== undefined && dimensions >= model.minDimensions && dimensions <= model.dimensions);
  });
  if (fit.length > 0) return fit;
  // Every candidate's model is listed here (an unlisted one would have fit).
  const takes = candidates.map((c) => {
    const model = modelOf(c)!;
    const range = model.minDimensions === undefined ? `cannot shorten its ${model.dimensions}` : `${model.minDimensions} to ${model.dimensions}`;
    return `${c.target.provider}/${c.target.model}: ${range}`;
  });
  return refuse(
    fieldViolation(DIMENSIONS_PATH, `no target of route "${route}" can return ${dimensions} dimensions (${takes.join("; ")}); ask for a size in range, or none`, "dimensions.model_range"),
  );
}

function refuse(err: ConnectError): never {
  throw err;
}
