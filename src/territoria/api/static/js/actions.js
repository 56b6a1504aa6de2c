/* Territoria — actions log: add and delete actions through the REST API. */
"use strict";
(function () {
  const T = window.Territoria;
  const $ = (id) => document.getElementById(id);
  const form = $("action-form");
  if (form) {
    $("action-date").valueAsDate = new Date();
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {
        date: $("action-date").value,
        type: $("action-type").value,
        subject: $("action-subject").value,
        actors: $("action-actors").value.split(",").map((s) => s.trim()).filter(Boolean),
        decision_targeted: $("action-decision").value,
        decision_type: $("action-decision-type").value,
        hours: parseFloat($("action-hours").value || "0"),
        cost_eur: parseFloat($("action-cost").value || "0"),
        outcome: $("action-outcome").value,
      };
      try {
        await T.api("/api/v1/actions", { method: "POST", json: body });
        window.location.reload();
      } catch (e) {
        $("action-error").textContent = e.message;
        $("action-error").hidden = false;
      }
    });
  }
  for (const button of document.querySelectorAll("[data-delete]")) {
    button.addEventListener("click", async () => {
      try {
        await T.api("/api/v1/actions/" + encodeURIComponent(button.dataset.delete), { method: "DELETE" });
        window.location.reload();
      } catch (e) { alert(e.message); }
    });
  }
})();
