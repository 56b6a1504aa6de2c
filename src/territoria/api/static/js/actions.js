/* Territoria — actions log: add, delete (after confirmation, undoable) and restore actions
   through the REST API. */
"use strict";
(function () {
  const T = window.Territoria;
  const $ = (id) => document.getElementById(id);
  const form = $("action-form");

  /** Chosen actors as removable chips; their ids travel in the hidden #action-actors. */
  function actorPicker() {
    const chosen = new Map();
    const box = $("action-actor-search");
    function sync() {
      $("action-actors").value = [...chosen.keys()].join(",");
      $("action-actor-chosen").replaceChildren(...[...chosen].map(([id, name]) => {
        const remove = T.el("button", { type: "button", class: "link", "aria-label": T.t("Retirer") + " " + name, text: "×" });
        remove.addEventListener("click", () => { chosen.delete(id); sync(); });
        return T.el("li", { "data-id": id, title: id }, [T.el("span", { text: name }), remove]);
      }));
    }
    function add(id, name) { chosen.set(id, name); box.value = ""; sync(); }
    T.attachPersonSearch(box, $("action-actor-results"), (hit) => add(hit.id, hit.name));
    // an organisation's or actor's id typed as such (cr-53, cd-35) is taken as it is
    box.addEventListener("keydown", (ev) => {
      const text = box.value.trim();
      if (ev.key === "Enter" && /^[a-z]{1,4}-[0-9A-Za-z-]+$/.test(text) && !$("action-actor-results").querySelector("li[role=option]")) {
        ev.preventDefault();
        add(text, text);
      }
    });
    // /actions?actor=p-… (from a person's page) starts with that person
    const preset = new URLSearchParams(location.search).get("actor");
    if (preset) {
      T.api("/api/v1/persons/" + encodeURIComponent(preset)).then((p) => add(p.id, p.name)).catch(() => add(preset, preset));
    }
  }

  if (form) {
    actorPicker();
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
        type_detail: $("action-type-detail").value,
        client: $("action-client").value || null,
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

  async function restore(id) {
    await T.api("/api/v1/actions/" + encodeURIComponent(id) + "/restore", { method: "POST" });
    window.location.reload();
  }

  // Deleting asks first; the notice that follows offers to undo it.
  for (const button of document.querySelectorAll("[data-delete]")) {
    button.addEventListener("click", async () => {
      if (!window.confirm(button.dataset.confirm)) return;
      const id = button.dataset.delete;
      try {
        await T.api("/api/v1/actions/" + encodeURIComponent(id), { method: "DELETE" });
      } catch (e) { alert(e.message); return; }
      const row = button.closest("tr");
      if (row) row.remove();
      $("action-notice-text").textContent = button.dataset.deleted;
      $("action-notice").hidden = false;
      $("action-undo").onclick = () => restore(id).catch((e) => alert(e.message));
      loadDeleted();
    });
  }

  // The bin: deleted actions, restorable by their author or an admin.
  const bin = $("deleted-actions");
  async function loadDeleted() {
    if (!bin) return;
    let items = [];
    try { items = await T.api("/api/v1/actions?deleted=true"); } catch (e) { return; }
    const body = $("deleted-actions-body");
    body.replaceChildren();
    for (const a of items) {
      const mayRestore = bin.dataset.admin === "true" || a.created_by === bin.dataset.user;
      const action = T.el("td", {});
      if (mayRestore) {
        const button = T.el("button", { type: "button", class: "link", "data-restore": a.id, text: bin.dataset.labelRestore });
        button.addEventListener("click", () => restore(a.id).catch((e) => alert(e.message)));
        action.append(button);
      }
      const when = a.deleted_at ? new Date(a.deleted_at + "Z").toLocaleString(T.locale) : "";
      body.append(T.el("tr", {}, [
        T.el("td", { text: a.date }),
        T.el("td", { text: a.subject }),
        T.el("td", { text: a.created_by || "–" }),
        T.el("td", { text: bin.dataset.labelBy.replace("{name}", a.deleted_by || "–") + (when ? " · " + when : "") }),
        action,
      ]));
    }
    bin.hidden = items.length === 0;
  }
  loadDeleted();
})();
