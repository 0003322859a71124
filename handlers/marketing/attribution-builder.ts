/**
 * attribution-builder (docs/requirements.md, MO-7): keeps each user's journey of touchpoints
 * and, when they convert, credits the conversion's channels by three models: last click,
 * linear and Shapley (attribution-models.ts), with the path's counterfactual lift.
 *
 * The contract's ConversionAttributed carries one model, so a conversion publishes one event
 * per model, in the order LAST_CLICK, LINEAR, SHAPLEY, each with the same conversion id and
 * lift; a consumer wanting one model filters on attribution_model. A path of more than
 * {@link MAX_SHAPLEY_CHANNELS} channels gets no Shapley event (an exact value needs 2^n
 * coalitions, each a document read); the projection says why.
 *
 * Projections:
 *   attribution-journeys/<userId>   the touchpoints since the user's last conversion
 *   attribution-paths/<channel set> journeys and conversions per exact channel set: the
 *                                   observed data the Shapley coalition value is computed from
 *   attribution/<conversionId>      the conversion's path, credits, Shapley values and lift
 *   attribution-channels/<channel>  credited conversions and value per channel and model
 * A conversion is attributed once per conversion id, whichever event reports it.
 */
import { marketing } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import { defineHandler, type HandlerContext } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import {
  counterfactualLift,
  lastClickCredit,
  linearCredit,
  shapleyCredit,
  type Credit,
} from "./attribution-models";
import { channelSetKey, nonEmptySubsets, type ChannelSetStats } from "./channel-sets";
import {
  addTouchpoint,
  channelsOf,
  convertAt,
  EMPTY_JOURNEY,
  type JourneyTouchpoint,
} from "./journey";

/** Most distinct channels on a path for which the Shapley model is computed (2^10 − 1 coalition reads). */
export const MAX_SHAPLEY_CHANNELS = 10;

const Model = marketing.v1.AttributionModel;

export interface JourneyView {
  userId: string;
  touchpoints: JourneyTouchpoint[];
  closedAt: number;
}

export interface ChannelSetView extends ChannelSetStats {
  key: string;
}

export interface AttributionView {
  conversionId: string;
  userId: string;
  value: number;
  /** ce-time of the conversion. */
  convertedAt: string;
  path: JourneyTouchpoint[];
  channels: string[];
  /** Credit per model and channel; shapley is null when the path has too many channels. */
  credit: { lastClick: Credit; linear: Credit; shapley: Credit | null };
  /** Raw Shapley values in conversion-rate units, and v(path). */
  shapleyValues: Credit | null;
  pathValue: number;
  counterfactualLift: number;
  /** Why a model is missing, or the conversion is unattributed; null when all is there. */
  note: string | null;
}

export interface ChannelCreditView {
  channel: string;
  /** Credited conversions per model. */
  conversions: { lastClick: number; linear: number; shapley: number };
  /** Credited conversion value per model. */
  value: { lastClick: number; linear: number; shapley: number };
}

export const journeys = defineProjection<JourneyView>("attribution-journeys");
export const channelSets = defineProjection<ChannelSetView>("attribution-paths");
export const attributions = defineProjection<AttributionView>("attribution");
export const channelCredits = defineProjection<ChannelCreditView>("attribution-channels");

type Ctx = HandlerContext<"attribution-builder">;

/**
 * Moves a journey into or out of a channel set's count without reading it: touchpoints, the
 * busy path. Every user's first touchpoint on a channel moves that channel's set, and
 * transactions that read it would queue on its lock during a burst of touchpoints
 * (handlers/runtime/projections.ts). Conversions read the sets they credit, so
 * they count with countJourney.
 */
function countJourneyBlind(ctx: Ctx, channels: readonly string[], journeysDelta: number): void {
  if (channels.length === 0) return;
  const key = channelSetKey(channels);
  channelSets.increment(
    ctx,
    documentIdFor(key),
    { journeys: journeysDelta, conversions: 0 },
    { key, channels: [...channels] },
  );
}

async function countJourney(
  ctx: Ctx,
  channels: readonly string[],
  journeysDelta: number,
  conversionsDelta: number,
): Promise<void> {
  if (channels.length === 0) return;
  const key = channelSetKey(channels);
  await channelSets.update(ctx, documentIdFor(key), (current) => ({
    key,
    channels: [...channels],
    journeys: (current?.journeys ?? 0) + journeysDelta,
    conversions: (current?.conversions ?? 0) + conversionsDelta,
  }));
}

function touchpointTime(touchpoint: marketing.v1.ITouchpoint, fallback: string): number {
  const ts = touchpoint.timestamp;
  // A touchpoint without its own time happened when it was recorded.
  if (!ts || (!ts.seconds && !ts.nanos)) return Date.parse(fallback);
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

async function creditChannels(
  ctx: Ctx,
  credit: AttributionView["credit"],
  value: number,
): Promise<void> {
  const channels = new Set([
    ...Object.keys(credit.lastClick),
    ...Object.keys(credit.linear),
    ...Object.keys(credit.shapley ?? {}),
  ]);
  for (const channel of channels) {
    const of = (model: Credit | null): number => model?.[channel] ?? 0;
    await channelCredits.update(ctx, documentIdFor(channel), (current) => {
      const c = current ?? {
        channel,
        conversions: { lastClick: 0, linear: 0, shapley: 0 },
        value: { lastClick: 0, linear: 0, shapley: 0 },
      };
      return {
        channel,
        conversions: {
          lastClick: c.conversions.lastClick + of(credit.lastClick),
          linear: c.conversions.linear + of(credit.linear),
          shapley: c.conversions.shapley + of(credit.shapley),
        },
        value: {
          lastClick: c.value.lastClick + of(credit.lastClick) * value,
          linear: c.value.linear + of(credit.linear) * value,
          shapley: c.value.shapley + of(credit.shapley) * value,
        },
      };
    });
  }
}

/** A touchpoint extends the user's journey; the journey then counts under its new channel set. */
async function recordTouchpoint(
  ctx: Ctx,
  journey: JourneyView,
  data: marketing.v1.TouchpointRecorded,
): Promise<void> {
  const { userId } = journey;
  const touchpoint = data.touchpoint;
  if (!touchpoint?.channel)
    throw new PermanentError("missing-channel", `touchpoint of user ${userId} has no channel`);
  const before = channelsOf(journey.touchpoints);
  const { journey: next, added } = addTouchpoint(journey, {
    channel: touchpoint.channel,
    campaign: touchpoint.campaign ?? "",
    creative: touchpoint.creative ?? "",
    at: touchpointTime(touchpoint, ctx.delivery.time),
  });
  if (!added) return;
  const after = channelsOf(next.touchpoints);
  if (channelSetKey(after) !== channelSetKey(before)) {
    countJourneyBlind(ctx, before, -1);
    countJourneyBlind(ctx, after, 1);
  }
  await journeys.update(ctx, documentIdFor(userId), () => ({ userId, ...next }));
}

/** The credit of a converting path under each model, and Shapley's values where the path is small enough. */
async function creditPath(
  ctx: Ctx,
  path: readonly JourneyTouchpoint[],
  pathChannels: readonly string[],
) {
  // v(S) for every coalition of the path's channels needs the stats of every subset of them (and only those).
  const withShapley = pathChannels.length <= MAX_SHAPLEY_CHANNELS;
  const stats: ChannelSetStats[] = [];
  for (const subset of withShapley ? nonEmptySubsets(pathChannels) : []) {
    const found = await channelSets.get(ctx, documentIdFor(channelSetKey(subset)));
    if (found !== undefined) stats.push(found);
  }
  const shapley = withShapley ? shapleyCredit(path, stats) : undefined;
  return {
    withShapley,
    shapley,
    lift: withShapley ? counterfactualLift(path, stats) : 0,
    credit: {
      lastClick: lastClickCredit(path),
      linear: linearCredit(path),
      shapley: shapley?.credit ?? null,
    },
  };
}

/**
 * A conversion closes the journey's path before it: the path is credited under each model (one
 * conversion_attributed per model), and touchpoints after the conversion start the next journey.
 */
async function recordConversion(
  ctx: Ctx,
  journey: JourneyView,
  conversion: marketing.v1.ConversionRecorded,
): Promise<void> {
  const { userId } = journey;
  if (!conversion.conversionId)
    throw new PermanentError(
      "missing-conversion-id",
      `conversion of user ${userId} has no conversion id`,
    );
  const attributionId = documentIdFor(conversion.conversionId);
  if ((await attributions.get(ctx, attributionId)) !== undefined) return;
  const convertedAt = ctx.delivery.time;
  const { path, next } = convertAt(journey, Date.parse(convertedAt));
  const pathChannels = channelsOf(path);
  const base = {
    conversionId: conversion.conversionId,
    userId,
    value: conversion.value,
    convertedAt,
    path,
    channels: pathChannels,
  };
  if (path.length === 0) {
    await attributions.update(ctx, attributionId, () => ({
      ...base,
      credit: { lastClick: {}, linear: {}, shapley: null },
      shapleyValues: null,
      pathValue: 0,
      counterfactualLift: 0,
      note: "no touchpoints before the conversion: unattributed",
    }));
    return;
  }
  await countJourney(ctx, channelsOf(journey.touchpoints), -1, 0);
  await countJourney(ctx, pathChannels, 1, 1);
  await countJourney(ctx, channelsOf(next.touchpoints), 1, 0);
  await journeys.update(ctx, documentIdFor(userId), () => ({ userId, ...next }));

  const { withShapley, shapley, lift, credit } = await creditPath(ctx, path, pathChannels);
  const models: [marketing.v1.AttributionModel, Credit | null][] = [
    [Model.ATTRIBUTION_MODEL_LAST_CLICK, credit.lastClick],
    [Model.ATTRIBUTION_MODEL_LINEAR, credit.linear],
    [Model.ATTRIBUTION_MODEL_SHAPLEY, credit.shapley],
  ];
  for (const [model, distribution] of models) {
    if (distribution === null) continue;
    ctx.publish("com.eventline.attribution.conversion_attributed", {
      conversionId: conversion.conversionId,
      userId,
      attributionModel: model,
      creditDistribution: distribution,
      counterfactualLift: lift,
    });
  }
  await attributions.update(ctx, attributionId, () => ({
    ...base,
    credit,
    shapleyValues: shapley?.values ?? null,
    pathValue: shapley?.pathValue ?? 0,
    counterfactualLift: lift,
    note: withShapley
      ? null
      : `${pathChannels.length} channels: over the ${MAX_SHAPLEY_CHANNELS} for which exact Shapley values are computed`,
  }));
  await creditChannels(ctx, credit, conversion.value);
}

export const attributionBuilder = defineHandler({
  name: "attribution-builder",
  accepts: [
    "com.eventline.attribution.touchpoint_recorded",
    "com.eventline.attribution.conversion_recorded",
  ],
  async handle(event, ctx) {
    const userId = event.data.userId;
    if (!userId) throw new PermanentError("missing-user", `${event.type} has no user id`);
    const journey = (await journeys.get(ctx, documentIdFor(userId))) ?? {
      userId,
      ...EMPTY_JOURNEY,
    };
    if (event.type === "com.eventline.attribution.touchpoint_recorded")
      await recordTouchpoint(ctx, journey, event.data);
    else await recordConversion(ctx, journey, event.data);
  },
});
