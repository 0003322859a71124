/**
 * The `documents/<documentId>` projection: where each document stands in the pipeline
 * (ingested → classified → routed → answered). Each step writes only its own part, so the
 * steps never overwrite each other whatever order their commits land in.
 */
import { defineProjection } from "../runtime/projections";

export interface DocumentStatus {
  documentId: string;
  classification: { category: string; confidence: number; scores: Record<string, number> } | null;
  routing: { route: string; reason: string } | null;
  response: { template: string; text: string } | null;
}

export const documentStatus = defineProjection<DocumentStatus>("documents");

/** A document's status with nothing known yet. */
export function newStatus(documentId: string): DocumentStatus {
  return { documentId, classification: null, routing: null, response: null };
}
