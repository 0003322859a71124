/** whatsapp-sender: the invitation by WhatsApp through the messaging provider (text-sender.ts). */
import { defineHandler } from "../runtime/handler";
import { textSenderHandle, type TextSenderOptions } from "./text-sender";

/** The WhatsApp sender with its adapter and settings. */
export function createWhatsappSender(options: TextSenderOptions = {}) {
  return defineHandler({
    name: "whatsapp-sender",
    accepts: ["com.eventline.share.requested"],
    handle: textSenderHandle("whatsapp", options),
  });
}

export const whatsappSender = createWhatsappSender();
