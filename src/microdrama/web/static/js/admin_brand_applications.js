// @ts-check
// The operator's brand applications on /admin: approve, or refuse with a reason the applicant reads.

import { api } from "./api.js";
import { dateTime, notify, problem, say } from "./backoffice.js";
import { el, slot } from "./dom.js";

const root = document.querySelector("[data-testid=admin-page]");
const section = root.querySelector("[data-testid=brand-applications]");

const STATUS = { pending: "Waiting", approved: "Approved", refused: "Refused" };

function website(url) {
  // Only http(s) links are stored; the text stays the address itself.
  return el("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, url.replace(/^https?:\/\//, ""));
}

function row(application) {
  const applicant = el("td", {}, application.applicant_name, el("br"), el("small", {}, application.applicant_email || ""));
  const company = el("td", {}, el("strong", {}, application.company_name), el("br"), website(application.website), el("br"), el("small", {}, application.contact_email));
  const status = el("td", { "data-testid": "application-status" }, STATUS[application.status] || application.status);
  if (application.refusal_reason) status.append(el("br"), el("small", {}, application.refusal_reason));
  const actions = el("td");
  if (application.status === "pending") {
    const approve = el("button", { type: "button", class: "bo-primary", "data-testid": "application-approve" }, "Approve");
    const reason = el("input", { type: "text", maxlength: 500, placeholder: "Reason, shown to them", "aria-label": `Why refuse ${application.company_name}`, "data-testid": "application-reason" });
    const refuse = el("button", { type: "button", "data-testid": "application-refuse" }, "Refuse");
    const decide = async (button, verb, body) => {
      button.disabled = true;
      try {
        const decided = await api("POST", `/api/admin/brand-applications/${application.id}/${verb}`, { body });
        notify(verb === "approve" ? `${decided.company_name} is now a brand.` : `Refused ${decided.company_name}'s application.`);
        await load();
      } catch (error) {
        say("error", problem(error));
        button.disabled = false;
      }
    };
    approve.addEventListener("click", () => decide(approve, "approve", undefined));
    refuse.addEventListener("click", () => {
      if (reason.value.trim().length < 3) {
        say("error", "Say why you refuse (3 characters or more): the applicant reads it.");
        reason.focus();
        return;
      }
      decide(refuse, "refuse", { reason: reason.value.trim() });
    });
    actions.append(approve, " ", reason, " ", refuse);
  }
  return el(
    "tr",
    { "data-testid": "brand-application", "data-status": application.status },
    el("td", {}, dateTime.format(new Date(application.created_at))),
    company,
    applicant,
    el("td", {}, application.note || ""),
    status,
    actions,
  );
}

async function load() {
  const applications = await api("GET", "/api/admin/brand-applications");
  slot("applications", section).replaceChildren(...applications.map(row));
  slot("applications-empty", section).hidden = applications.length > 0;
}

load()
  .catch((error) => say("error", problem(error)))
  .finally(() => section.setAttribute("aria-busy", "false"));
