import { describe, expect, it } from "vitest";
import { budgetBand } from "../../handlers/marketplace/budget-bands";
import { renderEmail } from "../../handlers/marketplace/email-templates";
import { applyRevision, NO_FIELDS } from "../../handlers/marketplace/revisioned-fields";
import { searchKeywords } from "../../handlers/marketplace/search-keywords";
import { PermanentError } from "../../handlers/runtime/errors";

describe("revisioned fields", () => {
  it("let a newer revision overwrite and an older one only fill fields never set", () => {
    const published = applyRevision(
      NO_FIELDS,
      { title: "Event pipeline v2", status: "published" },
      2,
    );
    expect(published.applied).toEqual(["title", "status"]);
    const created = applyRevision(
      published.state,
      { title: "Event pipeline", status: "draft", budget: 5000 },
      1,
    );
    expect(created.applied).toEqual(["budget"]);
    expect(created.state).toEqual({
      values: { title: "Event pipeline v2", status: "published", budget: 5000 },
      revisions: { title: 2, status: 2, budget: 1 },
      revision: 2,
    });
  });

  it("ignore a repeat of the same revision", () => {
    const once = applyRevision(NO_FIELDS, { email: "a@example.com" }, 1);
    expect(applyRevision(once.state, { email: "b@example.com" }, 1).applied).toEqual([]);
  });
});

describe("search keywords", () => {
  it("are the distinct lowercase words of two or more characters, sorted", () => {
    expect(
      searchKeywords("Event pipeline", "Pub/Sub work", ["GCP", "typescript"], undefined, "a"),
    ).toEqual(["event", "gcp", "pipeline", "pub", "sub", "typescript", "work"]);
  });
});

describe("budget bands", () => {
  it.each([
    [0, "under-1k"],
    [999.99, "under-1k"],
    [1000, "1k-5k"],
    [5000, "5k-20k"],
    [20_000, "20k-plus"],
    [-1, "unknown"],
    [Number.NaN, "unknown"],
  ])("a budget of %s is in band %s", (budget, band) => {
    expect(budgetBand(budget)).toBe(band);
  });
});

describe("email templates", () => {
  it("render the welcome email with the user's name", () => {
    expect(renderEmail("welcome", { name: "Ana" })).toEqual({
      subject: "Welcome to Skillancer, Ana",
      text: "Hi Ana,\n\nWelcome to Skillancer. Your account is ready.\n",
    });
  });

  it.each([
    ["an unknown template", "farewell", {}, "unknown-template"],
    ["a missing variable", "welcome", {}, "missing-variable"],
  ])("fail permanently on %s", (_, template, variables, reason) => {
    let thrown: unknown;
    try {
      renderEmail(template, variables);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PermanentError);
    expect((thrown as PermanentError).reason).toBe(reason);
  });
});
