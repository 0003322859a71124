import { describe, expect, it } from "vitest";
import {
  addFailure,
  addSteps,
  EMPTY_FUNNEL,
  funnelRates,
  newSteps,
  type FunnelStep,
} from "../../handlers/viral/funnel";
import {
  escapeHtml,
  invitationEmail,
  invitationText,
} from "../../handlers/viral/invitation-message";
import { trackingLinks } from "../../handlers/viral/tracking-links";

describe("tracking links", () => {
  it("point the pixel and the click at the gateway, and the click on to the card", () => {
    expect(trackingLinks("https://go.example.com/", "inv-1", "card 7")).toEqual({
      openPixelUrl: "https://go.example.com/t/open/inv-1",
      clickUrl:
        "https://go.example.com/t/click/inv-1?to=https%3A%2F%2Fgo.example.com%2Fcards%2Fcard%25207",
      cardUrl: "https://go.example.com/cards/card%207",
    });
  });

  it("send the click to a separate card host when one is configured", () => {
    const links = trackingLinks(
      "http://127.0.0.1:8080",
      "inv/2",
      "c1",
      "https://cards.example.com",
    );
    expect(links.clickUrl).toBe(
      "http://127.0.0.1:8080/t/click/inv%2F2?to=https%3A%2F%2Fcards.example.com%2Fcards%2Fc1",
    );
    expect(new URL(links.clickUrl).searchParams.get("to")).toBe(
      "https://cards.example.com/cards/c1",
    );
  });
});

describe("invitation messages", () => {
  const links = trackingLinks("https://go.example.com", "inv-1", "card-1");

  it("put the click link and the pixel in the email, escaped, with the sender's name", () => {
    const email = invitationEmail(links, { sender_name: "Ana <3" });
    expect(email.subject).toBe("Ana <3 shared a card with you");
    expect(email.text).toBe(`Ana <3 shared a card with you.\n\nOpen it here: ${links.clickUrl}\n`);
    expect(email.html).toContain(`<a href="${escapeHtml(links.clickUrl)}">Open the card</a>`);
    expect(email.html).toContain(
      '<img src="https://go.example.com/t/open/inv-1" width="1" height="1"',
    );
    expect(email.html).toContain("<p>Ana &lt;3 shared a card with you.</p>");
  });

  it("say Someone when the share names no sender, and carry only the click link in a text", () => {
    expect(invitationText(links, {})).toBe(`Someone shared a card with you: ${links.clickUrl}`);
  });
});

describe("the funnel", () => {
  it.each<[string, FunnelStep[], FunnelStep, FunnelStep[]]>([
    ["a first send reaches sent", [], "sent", ["sent"]],
    ["an open implies the send", [], "opened", ["sent", "opened"]],
    [
      "a conversion after a send implies the open and the click",
      ["sent"],
      "converted",
      ["opened", "clicked", "converted"],
    ],
    ["a second open adds nothing", ["sent", "opened"], "opened", []],
    ["a late open after a click adds nothing", ["sent", "opened", "clicked"], "opened", []],
  ])("%s", (_, reached, step, expected) => {
    expect(newSteps(reached, step)).toEqual(expected);
  });

  it("counts each invitation once per step and computes the four rates", () => {
    // 8 sent, 4 of them opened, 2 of those clicked, 1 converted for 19.9; 1 failed.
    let counts = { ...EMPTY_FUNNEL };
    for (let i = 0; i < 8; i++) counts = addSteps(counts, ["sent"]);
    for (let i = 0; i < 4; i++) counts = addSteps(counts, ["opened"]);
    counts = addSteps(counts, ["clicked"]);
    counts = addSteps(counts, ["clicked", "converted"], 19.9);
    counts = addFailure(counts);
    expect(counts).toEqual({
      sent: 8,
      opened: 4,
      clicked: 2,
      converted: 1,
      failed: 1,
      conversionValue: 19.9,
    });
    expect(funnelRates(counts)).toEqual({
      openRate: 0.5,
      clickRate: 0.5,
      conversionRate: 0.5,
      overallRate: 0.125,
    });
  });

  it("reports rates of 0, not NaN, before anything was sent", () => {
    expect(funnelRates(EMPTY_FUNNEL)).toEqual({
      openRate: 0,
      clickRate: 0,
      conversionRate: 0,
      overallRate: 0,
    });
  });
});
