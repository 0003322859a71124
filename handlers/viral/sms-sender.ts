/** sms-sender: the invitation by SMS through the messaging provider (text-sender.ts). */
import { defineHandler } from "../runtime/handler";
import { textSenderHandle, type TextSenderOptions } from "./text-sender";

/** The SMS sender with its adapter and settings. */
export function createSmsSender(options: TextSenderOptions = {}) {
  return defineHandler({
    name: "sms-sender",
    accepts: ["com.eventline.share.requested"],
    handle: textSenderHandle("sms", options),
  });
}

export const smsSender = createSmsSender();
