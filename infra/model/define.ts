/**
 * `defineSystem` types the declaration so that the compiler rejects what it can see:
 * a handler that accepts or emits an event type no topic declares, a consumer whose
 * topic cannot carry every type its handler accepts, a consumer naming an unknown
 * handler or topic. Everything it cannot see is checked at load by `resolveSystem`.
 */
import type {
  ConsumerSpec,
  HandlerContract,
  MessageClass,
  StackOverrides,
  SystemSpec,
  TopicSpec,
} from "./types";

/** Every event type declared on any topic of `T`. */
export type EventTypeOf<T extends Readonly<Record<string, TopicSpec>>> = {
  [K in keyof T]: keyof T[K]["events"] & string;
}[keyof T];

/** The decoded payload of event type `E`: an instance of its generated message class. */
export type PayloadOf<T extends Readonly<Record<string, TopicSpec>>, E extends string> = {
  [K in keyof T]: E extends keyof T[K]["events"]
    ? T[K]["events"][E]["message"] extends MessageClass<infer M>
      ? M
      : never
    : never;
}[keyof T];

/** A compile error carried in a property the object literal does not have. */
interface DeclarationTypeError<Message extends string> {
  "declaration error": Message;
}

type CheckHandlers<T extends Readonly<Record<string, TopicSpec>>, H> = {
  [K in keyof H]: H[K] extends { accepts: readonly (infer A)[] }
    ? [Exclude<A, EventTypeOf<T>>] extends [never]
      ? H[K] extends { emits: readonly (infer E)[] }
        ? [Exclude<E, EventTypeOf<T>>] extends [never]
          ? H[K]
          : H[K] &
              DeclarationTypeError<`handler ${K & string} emits ${Exclude<E, EventTypeOf<T>> & string}, which no topic declares`>
        : H[K]
      : H[K] &
          DeclarationTypeError<`handler ${K & string} accepts ${Exclude<A, EventTypeOf<T>> & string}, which no topic declares`>
    : H[K];
};

type CheckConsumers<
  T extends Readonly<Record<string, TopicSpec>>,
  H extends Readonly<Record<string, HandlerContract>>,
  C,
> = {
  [K in keyof C]: C[K] extends { handler: infer HN; topic: infer TN }
    ? HN extends keyof H
      ? TN extends keyof T
        ? [Exclude<H[HN]["accepts"][number], keyof T[TN]["events"]>] extends [never]
          ? C[K]
          : C[K] &
              DeclarationTypeError<`consumer ${K & string}: topic ${TN & string} cannot carry ${Exclude<H[HN]["accepts"][number], keyof T[TN]["events"]> & string}, which handler ${HN & string} accepts`>
        : C[K] & DeclarationTypeError<`consumer ${K & string}: no topic named ${TN & string}`>
      : C[K] & DeclarationTypeError<`consumer ${K & string}: no handler named ${HN & string}`>
    : C[K];
};

/** A declaration as `defineSystem` returns it: the spec, with its literal types kept. */
export interface System<
  T extends Readonly<Record<string, TopicSpec>> = Readonly<Record<string, TopicSpec>>,
  H extends Readonly<Record<string, HandlerContract>> = Readonly<Record<string, HandlerContract>>,
  C extends Readonly<Record<string, ConsumerSpec>> = Readonly<Record<string, ConsumerSpec>>,
> extends SystemSpec {
  topics: T;
  handlers: H;
  consumers: C;
}

/**
 * Declares the event system. Returns its argument unchanged, typed so that handlers
 * and interpreters can derive event payload types from it.
 */
export function defineSystem<
  const T extends Readonly<Record<string, TopicSpec>>,
  const H extends Readonly<Record<string, HandlerContract>>,
  const C extends Readonly<Record<string, ConsumerSpec>>,
>(spec: {
  topics: T;
  handlers: H & NoInfer<CheckHandlers<T, H>>;
  consumers: C & NoInfer<CheckConsumers<T, H, C>>;
  producers?: SystemSpec["producers"];
  services?: SystemSpec["services"];
  hooks?: SystemSpec["hooks"];
  stacks?: Readonly<Record<string, StackOverrides>>;
}): System<T, H, C> {
  return spec;
}
