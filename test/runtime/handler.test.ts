import { describe, expect, expectTypeOf, it } from "vitest";
import type { Payload } from "../../handlers/runtime/event-types";
import { archiver } from "../../handlers/runtime/event-store";
import { eventTypesFor } from "../../handlers/declared";
import {
  checkImplementation,
  defineHandler,
  registryOf,
  type EmittedBy,
  type HandlerEvent,
  type RegisteredHandler,
} from "../../handlers/runtime/handler";

// The type-level half of these tests is checked by `tsc` (npm run typecheck): each line marked
// as an expected error below must fail to compile, or the typecheck fails.

const projector = defineHandler({
  name: "funnel-projector",
  accepts: ["com.eventline.share.completed", "com.eventline.invitation.opened"],
  handle(event, ctx) {
    expectTypeOf(event.data).toEqualTypeOf<
      Payload<"com.eventline.share.completed"> | Payload<"com.eventline.invitation.opened">
    >();
    if (event.type === "com.eventline.share.completed")
      expectTypeOf(event.data).toEqualTypeOf<Payload<"com.eventline.share.completed">>();
    // @ts-expect-error funnel-projector's contract emits nothing
    ctx.publish("com.eventline.share.completed", { invitationId: "x" });
  },
});

const sender = defineHandler({
  name: "email-sender",
  accepts: ["com.eventline.share.requested"],
  handle(event, ctx) {
    expectTypeOf(event).toEqualTypeOf<HandlerEvent<"com.eventline.share.requested">>();
    ctx.publish("com.eventline.share.completed", { invitationId: event.data.invitationId });
    // @ts-expect-error email-sender does not emit invitation.opened
    ctx.publish("com.eventline.invitation.opened", { invitationId: "x" });
    // @ts-expect-error a share.failed payload has no messageId field
    ctx.publish("com.eventline.share.failed", { messageId: "x" });
  },
});

describe("defineHandler", () => {
  it("types a handler from its declared contract", () => {
    expectTypeOf<EmittedBy<"email-sender">>().toEqualTypeOf<
      "com.eventline.share.completed" | "com.eventline.share.failed"
    >();
    expectTypeOf<EmittedBy<"funnel-projector">>().toBeNever();
    expect(projector.accepts).toEqual([
      "com.eventline.share.completed",
      "com.eventline.invitation.opened",
    ]);
    expect(sender.kind).toBe("handler");
  });

  it("does not compile a handler whose accepts disagree with its contract, or that names no declared handler", () => {
    const declare = (): unknown => [
      defineHandler({
        name: "email-sender",
        // @ts-expect-error email-sender's contract does not accept invitation.opened
        accepts: ["com.eventline.invitation.opened"],
        handle() {},
      }),
      // @ts-expect-error accepts may not be empty
      defineHandler({ name: "email-sender", accepts: [], handle() {} }),
      // @ts-expect-error no handler named "nope" is declared
      defineHandler({ name: "nope", accepts: ["com.eventline.share.requested"], handle() {} }),
    ];
    expect(declare).not.toThrow();
  });

  it("refuses at run time, against the declaration the runtime is given, what the types would have refused when they are bypassed", () => {
    const untyped = defineHandler as (definition: {
      name: string;
      accepts: string[];
      handle(): void;
    }) => RegisteredHandler;
    const emailWorker = eventTypesFor("local").system.consumers.find(
      (consumer) => consumer.name === "email-worker",
    )!;
    expect(() =>
      checkImplementation(
        emailWorker,
        untyped({
          name: "email-sender",
          accepts: ["com.eventline.invitation.opened"],
          handle() {},
        }),
      ),
    ).toThrow(
      "handler email-sender accepts com.eventline.invitation.opened, which its contract in the declaration does not",
    );
    expect(() =>
      checkImplementation(
        emailWorker,
        untyped({ name: "nope", accepts: ["com.eventline.share.requested"], handle() {} }),
      ),
    ).toThrow("consumer email-worker runs handler email-sender, but was given nope");
    expect(() => checkImplementation(emailWorker, sender)).not.toThrow();
  });

  it("indexes implementations by contract name, the archiver included", () => {
    expect(Object.keys(registryOf(projector, sender, archiver))).toEqual([
      "funnel-projector",
      "email-sender",
      "archiver",
    ]);
  });
});
