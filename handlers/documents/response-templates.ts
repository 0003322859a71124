/**
 * The acknowledgement a routed document gets, one template per route. `{documentId}` and
 * `{category}` are filled in; a route without a template of its own gets the manual-review
 * one, which promises nothing a team has not taken on.
 */
import { MANUAL_REVIEW_ROUTE } from "./routing-rules";

export interface ResponseTemplate {
  name: string;
  text: string;
}

/** Templates by route. */
export const RESPONSE_TEMPLATES: Readonly<Record<string, ResponseTemplate>> = {
  "accounts-payable": {
    name: "invoice-received",
    text: "Thank you. We have received your invoice (reference {documentId}) and passed it to accounts payable for processing.",
  },
  legal: {
    name: "contract-received",
    text: "Thank you. Your contract (reference {documentId}) is with our legal team for review.",
  },
  "customer-care": {
    name: "complaint-acknowledged",
    text: "We are sorry to hear about your experience. Your complaint (reference {documentId}) is with customer care, who will contact you within two business days.",
  },
  "front-desk": {
    name: "inquiry-received",
    text: "Thank you for your inquiry (reference {documentId}). Our team will answer shortly.",
  },
  recruiting: {
    name: "application-received",
    text: "Thank you for your application (reference {documentId}). Our recruiting team will review it and be in touch.",
  },
  [MANUAL_REVIEW_ROUTE]: {
    name: "document-received",
    text: "Thank you. We have received your document (reference {documentId}); it will be reviewed by our staff.",
  },
};

/** The response to a document routed to `route`. */
export function renderResponse(
  route: string,
  documentId: string,
  category: string,
): { template: string; text: string } {
  const template = RESPONSE_TEMPLATES[route] ?? RESPONSE_TEMPLATES[MANUAL_REVIEW_ROUTE]!;
  return {
    template: template.name,
    text: template.text.replaceAll("{documentId}", documentId).replaceAll("{category}", category),
  };
}
