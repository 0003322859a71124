/**
 * Alerting and the operations dashboard for the consumers. Two alerts per consumer: a dead
 * letter was parked (anything at all: each one is an event the system failed to handle), and
 * the oldest unacknowledged message is older than the stack's threshold (a stuck or
 * under-scaled consumer). The dashboard charts backlog, age, throughput and dead letters with
 * one line per subscription: one chart per metric stays readable and within Cloud
 * Monitoring's widget limits however many consumers the declaration grows.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedConsumer } from "../model/types";
import type { Platform } from "./platform";

const subscriptionMetric = (metric: string, subscription: string): string =>
  `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${subscription}" AND metric.type = "pubsub.googleapis.com/subscription/${metric}"`;

/** Every parking subscription ends so (ResolvedConsumer.parkingSubscription). */
const parkingSuffix = "-dlq-parking";

export interface MonitoringArgs {
  /** Every consumer, built-in archivers included. */
  consumers: readonly ResolvedConsumer[];
  /**
   * Age of the oldest unacknowledged message, in seconds, above which a consumer alerts.
   * From `eventline:oldestUnackedAlert`; at least 60.
   */
  oldestUnackedAlertSeconds: number;
  /** Notification channels (`projects/…/notificationChannels/…`) every alert notifies. Default none. */
  notificationChannels?: readonly string[];
  /** Project, stack, labels. */
  platform: Platform;
}

/** Alert policies per consumer and one dashboard for the stack. */
export class Monitoring extends pulumi.ComponentResource {
  /** The dashboard's console URL. */
  readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:Monitoring", name, {}, opts);
    if (!Number.isInteger(args.oldestUnackedAlertSeconds) || args.oldestUnackedAlertSeconds < 60) {
      throw new Error(
        `Monitoring ${name}: oldestUnackedAlertSeconds ${args.oldestUnackedAlertSeconds} is below one minute; set eventline:oldestUnackedAlert to "1m" or more, e.g. "10m"`,
      );
    }
    const { platform } = args;
    const common = {
      project: platform.project,
      combiner: "OR",
      notificationChannels: [...(args.notificationChannels ?? [])],
      userLabels: { ...platform.labels },
    };

    for (const consumer of args.consumers) {
      new gcp.monitoring.AlertPolicy(
        `${name}-${consumer.name}-dead-letters`,
        {
          ...common,
          displayName: `[${platform.stack}] ${consumer.name}: dead letters parked`,
          severity: "ERROR",
          conditions: [
            {
              displayName: `${consumer.parkingSubscription} holds a message`,
              conditionThreshold: {
                filter: subscriptionMetric(
                  "num_undelivered_messages",
                  consumer.parkingSubscription,
                ),
                comparison: "COMPARISON_GT",
                thresholdValue: 0,
                duration: "0s",
                aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MAX" }],
                evaluationMissingData: "EVALUATION_MISSING_DATA_INACTIVE",
              },
            },
          ],
          documentation: {
            mimeType: "text/markdown",
            content: `Consumer **${consumer.name}** dead-lettered a message to \`${consumer.deadLetterTopic}\`; it is kept in \`${consumer.parkingSubscription}\`. The reason is in its attributes. List and redrive with the Eventline CLI once the cause is fixed.`,
          },
        },
        { parent: this },
      );
      new gcp.monitoring.AlertPolicy(
        `${name}-${consumer.name}-oldest-unacked`,
        {
          ...common,
          displayName: `[${platform.stack}] ${consumer.name}: oldest unacked message older than ${args.oldestUnackedAlertSeconds}s`,
          severity: "WARNING",
          conditions: [
            {
              displayName: `${consumer.name} oldest unacked message age`,
              conditionThreshold: {
                filter: subscriptionMetric("oldest_unacked_message_age", consumer.subscription),
                comparison: "COMPARISON_GT",
                thresholdValue: args.oldestUnackedAlertSeconds,
                duration: "0s",
                aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MAX" }],
                evaluationMissingData: "EVALUATION_MISSING_DATA_INACTIVE",
              },
            },
          ],
          documentation: {
            mimeType: "text/markdown",
            content: `Consumer **${consumer.name}** is falling behind: its handler is failing, slow, or at its replica or instance limit. Check its backlog and errors on the Eventline dashboard.`,
          },
        },
        { parent: this },
      );
    }

    const dashboard = new gcp.monitoring.Dashboard(
      `${name}-dashboard`,
      {
        project: platform.project,
        dashboardJson: JSON.stringify(dashboardDefinition(platform.stack)),
      },
      { parent: this },
    );
    this.dashboardUrl = pulumi.interpolate`https://console.cloud.google.com/monitoring/dashboards/builder/${dashboard.id.apply((id) => id.split("/").pop())}?project=${platform.project}`;

    this.registerOutputs({ dashboardUrl: this.dashboardUrl });
  }
}

/** One chart: a metric of the system's subscriptions, one line per subscription. */
function chart(
  title: string,
  metric: string,
  aligner: string,
  subscriptions: "consumers" | "parking",
): object {
  const which =
    subscriptions === "parking"
      ? `resource.labels.subscription_id = ends_with("${parkingSuffix}")`
      : `NOT resource.labels.subscription_id = ends_with("${parkingSuffix}")`;
  return {
    title,
    xyChart: {
      chartOptions: { mode: "COLOR" },
      dataSets: [
        {
          plotType: "LINE",
          legendTemplate: "${resource.labels.subscription_id}",
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter: `metric.type = "pubsub.googleapis.com/subscription/${metric}" AND resource.type = "pubsub_subscription" AND ${which}`,
              aggregation: {
                alignmentPeriod: "60s",
                perSeriesAligner: aligner,
                crossSeriesReducer: "REDUCE_SUM",
                groupByFields: ["resource.label.subscription_id"],
              },
            },
          },
        },
      ],
    },
  };
}

/** The dashboard: backlog, age, throughput and dead letters per consumer, two charts a row. */
export function dashboardDefinition(stack: string): object {
  const charts = [
    chart(
      "Backlog per consumer (undelivered messages)",
      "num_undelivered_messages",
      "ALIGN_MEAN",
      "consumers",
    ),
    chart(
      "Oldest unacked message age per consumer (s)",
      "oldest_unacked_message_age",
      "ALIGN_MAX",
      "consumers",
    ),
    chart("Throughput per consumer (acks/s)", "ack_message_count", "ALIGN_RATE", "consumers"),
    chart(
      "Dead-lettered by Pub/Sub per consumer (msgs/s)",
      "dead_letter_message_count",
      "ALIGN_RATE",
      "consumers",
    ),
    chart("Dead letters parked per consumer", "num_undelivered_messages", "ALIGN_MAX", "parking"),
  ];
  const width = 24;
  const height = 16;
  return {
    displayName: `Eventline (${stack})`,
    mosaicLayout: {
      columns: 48,
      tiles: charts.map((widget, index) => ({
        xPos: (index % 2) * width,
        yPos: Math.floor(index / 2) * height,
        width,
        height,
        widget,
      })),
    },
  };
}
