import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SmtpEmailAdapter } from "../../handlers/adapters/email";
import { bookingOnPayment, bookings } from "../../handlers/marketplace/booking-on-payment";
import { createEmailDispatcher, dispatches } from "../../handlers/marketplace/email-dispatcher";
import { notifyBookingCreated } from "../../handlers/marketplace/notify-booking-created";
import { notifyPaymentCompleted } from "../../handlers/marketplace/notify-payment-completed";
import { notifyProjectPublished } from "../../handlers/marketplace/notify-project-published";
import { notifyUserCreated } from "../../handlers/marketplace/notify-user-created";
import { paymentOnBooking, payments } from "../../handlers/marketplace/payment-on-booking";
import { projectAnalytics, projectCounts } from "../../handlers/marketplace/project-analytics";
import { projectIndexer } from "../../handlers/marketplace/project-indexer";
import { projectSearch, searchProjects } from "../../handlers/marketplace/search-projects";
import { searchUsers, userSearch } from "../../handlers/marketplace/search-users";
import type { Handler } from "../../handlers/runtime/handler";
import { documentIdFor } from "../../handlers/runtime/idempotency";
import { runHandler, type EventInput } from "../../handlers/testing/run-handler";
import { useEmulators } from "../support/emulators";
import { startSmtpCatcher, type SmtpCatcher } from "../../tools/verify/stand-ins/smtp-catcher";

const env = useEmulators();
const read = async (ref: FirebaseFirestore.DocumentReference) => (await ref.get()).data();
const run = (handler: Handler, event: EventInput) =>
  runHandler(handler, event, { firestore: env.firestore });
const plain = (data: object) => JSON.parse(JSON.stringify(data)) as Record<string, unknown>;

const userCreated: EventInput = {
  id: "u-1",
  type: "com.skillancer.user.created",
  data: { userId: "usr_123", email: "user@example.com", role: 1, displayName: "Ana", revision: 1 },
};
const userUpdated: EventInput = {
  id: "u-2",
  type: "com.skillancer.user.updated",
  data: {
    userId: "usr_123",
    email: "ana@example.com",
    role: 1,
    displayName: "Ana B.",
    skills: ["TypeScript", "GCP"],
    revision: 2,
  },
};
const projectCreated: EventInput = {
  id: "p-1",
  type: "com.skillancer.project.created",
  data: {
    projectId: "prj-1",
    clientUserId: "usr_9",
    title: "Event pipeline",
    description: "Pub/Sub work",
    budget: 5000,
    currency: "USD",
    skills: ["gcp", "Pub/Sub"],
    revision: 1,
  },
};
const projectPublished: EventInput = {
  id: "p-2",
  type: "com.skillancer.project.published",
  data: {
    projectId: "prj-1",
    clientUserId: "usr_9",
    title: "Event pipeline (final)",
    revision: 2,
    clientEmail: "client@example.com",
  },
};
const booking = (id: string, emails: boolean): EventInput => ({
  id,
  type: "com.skillancer.booking.created",
  data: {
    bookingId: "bk-1",
    projectId: "prj-1",
    freelancerUserId: "usr_123",
    clientUserId: "usr_9",
    amount: 5000,
    currency: "USD",
    startDate: "2026-12-01",
    ...(emails && { freelancerEmail: "free@example.com", clientEmail: "client@example.com" }),
  },
});
const paymentCompleted = (id: string, paymentId: string): EventInput => ({
  id,
  type: "com.skillancer.payment.completed",
  data: { paymentId, bookingId: "bk-1", amount: 5000, currency: "USD", providerReference: "ch_1" },
});

describe("search-users", () => {
  it("keeps the newest revision when the update arrives before the creation", async () => {
    expect((await run(searchUsers, userUpdated)).outcome.result).toBe("handled");
    expect((await run(searchUsers, userCreated)).outcome.result).toBe("handled");
    expect(await read(userSearch.ref(env.firestore, "usr_123"))).toEqual({
      userId: "usr_123",
      email: "ana@example.com",
      role: "USER_ROLE_FREELANCER",
      displayName: "Ana B.",
      skills: ["TypeScript", "GCP"],
      keywords: ["ana", "gcp", "typescript"],
      revision: 2,
      fieldRevisions: { email: 2, role: 2, displayName: 2, skills: 2 },
    });
  });

  it("dead-letters a user event without a revision", async () => {
    const r = await run(searchUsers, {
      id: "u-x",
      type: "com.skillancer.user.created",
      data: { userId: "usr_x", email: "x@example.com" },
    });
    expect(r.outcome).toMatchObject({ result: "dead-lettered", reason: "missing-revision" });
  });
});

describe("notify-user-created", () => {
  it("commands the welcome email, keyed by its cause", async () => {
    const r = await run(notifyUserCreated, userCreated);
    expect(r.published.map((e) => [e.type, plain(e.data)])).toEqual([
      [
        "com.skillancer.email.send",
        {
          to: "user@example.com",
          template: "welcome",
          subject: "Welcome to Skillancer, Ana",
          variables: { name: "Ana" },
          idempotencyKey: "u-1:welcome",
        },
      ],
    ]);
    expect(r.published[0]!.meta).toMatchObject({
      causationId: "u-1",
      correlationId: "u-1",
      subject: "user@example.com",
    });
  });
});

describe("search-projects and project-indexer", () => {
  it("merges an older creation under a newer publication field by field, asking for a reindex each time", async () => {
    const published = await run(searchProjects, projectPublished);
    const created = await run(searchProjects, projectCreated);
    expect([...published.published, ...created.published].map((e) => plain(e.data))).toEqual([
      { projectId: "prj-1", reason: "published" },
      { projectId: "prj-1", reason: "created" },
    ]);
    expect(await read(projectSearch.ref(env.firestore, "prj-1"))).toEqual({
      projectId: "prj-1",
      clientUserId: "usr_9",
      title: "Event pipeline (final)",
      description: "Pub/Sub work",
      budget: 5000,
      currency: "USD",
      skills: ["gcp", "Pub/Sub"],
      status: "published",
      revision: 2,
      fieldRevisions: {
        clientUserId: 2,
        title: 2,
        status: 2,
        description: 1,
        budget: 1,
        currency: 1,
        skills: 1,
      },
      index: null,
    });
  });

  it("asks for nothing when a repeated creation changes nothing", async () => {
    const r = await run(searchProjects, { ...projectCreated, id: "p-1-again" });
    expect(r.outcome.result).toBe("handled");
    expect(r.published).toEqual([]);
  });

  it("rebuilds the searchable part from the document's current fields", async () => {
    const r = await run(projectIndexer, {
      id: "ix-1",
      type: "com.skillancer.search.index_project",
      data: { projectId: "prj-1", reason: "created" },
    });
    expect(r.outcome.result).toBe("handled");
    expect((await read(projectSearch.ref(env.firestore, "prj-1")))!["index"]).toEqual({
      keywords: ["event", "final", "gcp", "pipeline", "pub", "sub", "work"],
      skills: ["gcp", "pub/sub"],
      budgetBand: "5k-20k",
      published: true,
      sourceRevision: 2,
    });
  });
});

describe("project-analytics", () => {
  it("counts a project once by skill and budget band, whatever events report it", async () => {
    await run(projectAnalytics, projectCreated);
    await run(projectAnalytics, { ...projectCreated, id: "p-1-again" });
    const counts = await Promise.all(
      ["all:all", "skill:gcp", "budget:USD:5k-20k"].map((key) =>
        read(projectCounts.ref(env.firestore, key)),
      ),
    );
    expect(counts.map((c) => c?.["projects"])).toEqual([1, 1, 1]);
    // A key with "/" is stored under a hashed document id.
    expect(await read(projectCounts.ref(env.firestore, documentIdFor("skill:pub/sub")))).toEqual({
      dimension: "skill",
      key: "pub/sub",
      projects: 1,
    });
  });

  it("counts a burst of projects created at once, each once, though every one moves the same counters", async () => {
    const before = (await read(projectCounts.ref(env.firestore, "all:all")))?.["projects"] ?? 0;
    const burst = Array.from({ length: 60 }, (_, i): EventInput => ({
      id: `burst-${i}`,
      type: "com.skillancer.project.created",
      data: { ...projectCreated.data, projectId: `prj-burst-${i}`, skills: ["burst-skill"] },
    }));
    const runs = await Promise.all(burst.map((event) => run(projectAnalytics, event)));
    expect(runs.map((r) => r.outcome.result)).toEqual(burst.map(() => "handled"));
    expect((await read(projectCounts.ref(env.firestore, "all:all")))?.["projects"]).toBe(
      before + 60,
    );
    expect(await read(projectCounts.ref(env.firestore, "skill:burst-skill"))).toEqual({
      dimension: "skill",
      key: "burst-skill",
      projects: 60,
    });
  });
});

describe("bookings, payments and their notifications", () => {
  it("opens a pending payment for a booking", async () => {
    await run(paymentOnBooking, booking("b-1", true));
    expect(await read(payments.ref(env.firestore, "bk-1"))).toEqual({
      bookingId: "bk-1",
      projectId: "prj-1",
      clientUserId: "usr_9",
      freelancerUserId: "usr_123",
      payerEmail: "client@example.com",
      amount: 5000,
      currency: "USD",
      status: "pending",
      openedAt: expect.any(String),
    });
  });

  it("notifies both parties of a booking at the addresses it carries", async () => {
    const r = await run(notifyBookingCreated, booking("b-1", true));
    const variables = {
      bookingId: "bk-1",
      projectId: "prj-1",
      startDate: "2026-12-01",
      amount: "5000.00",
      currency: "USD",
    };
    expect(r.published.map((e) => plain(e.data))).toEqual([
      {
        to: "free@example.com",
        template: "booking-created-freelancer",
        subject: "New booking bk-1",
        variables,
        idempotencyKey: "b-1:booking-created-freelancer",
      },
      {
        to: "client@example.com",
        template: "booking-created-client",
        subject: "Booking bk-1 confirmed",
        variables,
        idempotencyKey: "b-1:booking-created-client",
      },
    ]);
  });

  it("looks addresses up in the users' search documents, and retries while a user is not there yet", async () => {
    const waiting = await run(notifyBookingCreated, booking("b-2", false));
    expect(waiting.outcome).toMatchObject({ action: "nack", result: "retry" });
    await run(searchUsers, {
      id: "u-9",
      type: "com.skillancer.user.created",
      data: {
        userId: "usr_9",
        email: "nine@example.com",
        role: 2,
        displayName: "Nine",
        revision: 1,
      },
    });
    const r = await run(notifyBookingCreated, booking("b-2", false));
    expect(r.published.map((e) => (e.data as { to: string }).to)).toEqual([
      "ana@example.com",
      "nine@example.com",
    ]);
  });

  it("sends the receipt to the payer the pending payment knows", async () => {
    const r = await run(notifyPaymentCompleted, paymentCompleted("pay-e1", "pay-1"));
    expect(r.published.map((e) => plain(e.data))).toEqual([
      {
        to: "client@example.com",
        template: "payment-receipt",
        subject: "Receipt for booking bk-1",
        variables: {
          paymentId: "pay-1",
          bookingId: "bk-1",
          amount: "5000.00",
          currency: "USD",
          providerReference: "ch_1",
        },
        idempotencyKey: "pay-e1:payment-receipt",
      },
    ]);
  });

  it("tells the client the project is live", async () => {
    const r = await run(notifyProjectPublished, projectPublished);
    expect(plain(r.published[0]!.data)).toMatchObject({
      to: "client@example.com",
      subject: 'Your project "Event pipeline (final)" is live',
    });
  });

  it("marks the booking paid by its first payment and keeps a second one apart", async () => {
    await run(bookingOnPayment, paymentCompleted("pay-e1", "pay-1"));
    await run(bookingOnPayment, paymentCompleted("pay-e2", "pay-2"));
    expect(await read(bookings.ref(env.firestore, "bk-1"))).toMatchObject({
      status: "paid",
      paymentId: "pay-1",
      paidAmount: 5000,
      providerReference: "ch_1",
      extraPayments: ["pay-2"],
    });
  });

  it("changes no projection when every event is delivered once more", async () => {
    const snapshot = async () =>
      Promise.all(
        [
          userSearch.ref(env.firestore, "usr_123"),
          projectSearch.ref(env.firestore, "prj-1"),
          payments.ref(env.firestore, "bk-1"),
          bookings.ref(env.firestore, "bk-1"),
          projectCounts.ref(env.firestore, "skill:gcp"),
        ].map(read),
      );
    const before = await snapshot();
    const again: [Handler, EventInput][] = [
      [searchUsers, userUpdated],
      [searchUsers, userCreated],
      [searchProjects, projectPublished],
      [searchProjects, projectCreated],
      [projectAnalytics, projectCreated],
      [paymentOnBooking, booking("b-1", true)],
      [bookingOnPayment, paymentCompleted("pay-e1", "pay-1")],
      [bookingOnPayment, paymentCompleted("pay-e2", "pay-2")],
      [notifyUserCreated, userCreated],
      [notifyBookingCreated, booking("b-1", true)],
    ];
    for (const [handler, event] of again) {
      const r = await run(handler, event);
      expect(r.outcome, `${handler.name} ${event.id}`).toEqual({
        action: "ack",
        result: "duplicate",
      });
      expect(r.published).toEqual([]);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("email-dispatcher", () => {
  let smtp: SmtpCatcher;
  let adapter: SmtpEmailAdapter;
  beforeAll(async () => {
    smtp = await startSmtpCatcher({ "busy@example.com": 451, "gone@example.com": 550 });
    adapter = new SmtpEmailAdapter({
      url: smtp.url,
      from: "Skillancer <no-reply@skillancer.test>",
      timeoutMs: 2000,
    });
  });
  afterAll(async () => {
    adapter.close();
    await smtp.close();
  });
  const dispatcher = () => createEmailDispatcher({ email: () => adapter });
  const command = (id: string, to: string, key: string, template = "welcome"): EventInput => ({
    id,
    type: "com.skillancer.email.send",
    data: { to, template, subject: "", variables: { name: "Ana" }, idempotencyKey: key },
  });

  it("renders and sends the command's email, and records the dispatch", async () => {
    const r = await run(dispatcher(), command("s-1", "ana@example.com", "u-1:welcome"));
    expect(r.outcome.result).toBe("handled");
    const mails = smtp.mails.filter((m) => m.to.includes("ana@example.com"));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.decoded).toContain("Subject: Welcome to Skillancer, Ana");
    expect(mails[0]!.decoded).toContain("Welcome to Skillancer. Your account is ready.");
    expect(await read(dispatches.ref(env.firestore, "u-1:welcome"))).toMatchObject({
      status: "sent",
      claimedBy: "s-1",
      to: "ana@example.com",
    });
  });

  it("sends at most once per idempotency key, whichever command carries it", async () => {
    const again = await run(dispatcher(), command("s-2", "ana@example.com", "u-1:welcome"));
    const redelivered = await run(dispatcher(), command("s-1", "ana@example.com", "u-1:welcome"));
    expect([again.outcome.result, redelivered.outcome.result]).toEqual(["handled", "duplicate"]);
    expect(smtp.mails.filter((m) => m.to.includes("ana@example.com"))).toHaveLength(1);
  });

  it("releases the claim and retries when the server says not now (451)", async () => {
    const r = await run(dispatcher(), command("s-3", "busy@example.com", "k-busy"));
    expect(r.outcome).toMatchObject({ action: "nack", result: "retry" });
    expect(await read(dispatches.ref(env.firestore, "k-busy"))).toBeUndefined();
  });

  it("dead-letters a command the server refuses (550) and records the failure", async () => {
    const r = await run(dispatcher(), command("s-4", "gone@example.com", "k-gone"));
    expect(r.outcome).toMatchObject({ result: "dead-lettered", reason: "rejected-by-server" });
    expect(await read(dispatches.ref(env.firestore, "k-gone"))).toMatchObject({ status: "failed" });
  });

  it("dead-letters an unknown template before claiming anything", async () => {
    const r = await run(dispatcher(), command("s-5", "ana@example.com", "k-tpl", "farewell"));
    expect(r.outcome).toMatchObject({ result: "dead-lettered", reason: "unknown-template" });
    expect(await read(dispatches.ref(env.firestore, "k-tpl"))).toBeUndefined();
  });
});
