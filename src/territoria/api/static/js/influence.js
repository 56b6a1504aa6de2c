/* Territoria — influence planner: submit a plan job, follow its progress, show the plan. */
"use strict";
(function () {
  const T = window.Territoria;
  const form = document.getElementById("plan-form");
  const $ = (id) => document.getElementById(id);

  T.attachSearch($("plan-territory"), $("plan-territory-results"), (hit) => {
    $("plan-territory").value = hit.name;
    $("plan-code").value = hit.code;
    $("plan-level").value = hit.level;
    $("plan-territory-chosen").textContent = T.level(hit.level) + " " + hit.name + " (" + hit.code + ")";
  });

  // Explicit targets: persons chosen by name, each with a weight; ids travel in the request.
  const targets = new Map();
  function syncTargets() {
    $("plan-targets").replaceChildren(...[...targets].map(([id, t]) => {
      const weight = T.el("input", { type: "number", min: "0.1", step: "0.1", value: String(t.weight), "aria-label": T.t("poids") + " " + t.name });
      weight.addEventListener("change", () => { t.weight = parseFloat(weight.value) || 1; });
      const remove = T.el("button", { type: "button", class: "link", "aria-label": T.t("Retirer") + " " + t.name, text: "×" });
      remove.addEventListener("click", () => { targets.delete(id); syncTargets(); });
      return T.el("li", { "data-id": id, title: id }, [T.el("span", { text: t.name }), weight, remove]);
    }));
  }
  T.attachPersonSearch($("plan-target-search"), $("plan-target-results"), (hit) => {
    targets.set(hit.id, { name: hit.name, weight: 1 });
    $("plan-target-search").value = "";
    syncTargets();
  });

  function showError(message) {
    $("plan-error").textContent = message;
    $("plan-error").hidden = !message;
  }

  function progress(job) {
    $("plan-progress").hidden = false;
    const pct = Math.round(100 * (job.progress || 0));
    $("plan-progress-fill").style.width = pct + "%";
    const label = { queued: T.t("En attente"), running: T.t("En cours"), done: T.t("Terminé"), failed: T.t("Échec"), cancelled: T.t("Annulé") }[job.status] || job.status;
    const cancel = $("plan-cancel");
    if (cancel) {
      cancel.hidden = !(job.status === "queued" || job.status === "running");
      cancel.onclick = async () => {
        try { progress(await T.api("/api/v1/influence/plans/" + encodeURIComponent(job.id), { method: "DELETE" })); }
        catch (e) { showError(e.message); }
      };
    }
    const step = job.status === "running" && job.step ? " · " + (steps[job.step] || job.step) : "";
    $("plan-progress-text").textContent = label + step + " · " + pct + " %";
  }
  // the plan's steps in the page's language (graph, optimise, robustness ...)
  const steps = JSON.parse($("plan-progress").dataset.steps || "{}");

  function network(plan) {
    const nodes = new Map(), edges = new Map();
    const targets = new Set((plan.targets || []).map((t) => t.id));
    const seeds = new Set((plan.seeds || []).map((s) => s.id));
    function node(id, name) {
      if (!nodes.has(id)) nodes.set(id, { data: { id, label: name || id, kind: seeds.has(id) ? "seed" : targets.has(id) ? "target" : "relay" } });
    }
    // the seeds, the decision-makers they reach and the relays in between
    for (const s of plan.seeds || []) {
      node(s.id, s.name);
      for (const p of s.paths || []) {
        p.path.forEach((id, i) => node(id, p.path_names ? p.path_names[i] : id));
        for (let i = 0; i + 1 < p.path.length; i++) {
          const key = p.path[i] + ">" + p.path[i + 1];
          const prev = edges.get(key);
          const w = p.probability;
          if (!prev || prev.data.p < w) edges.set(key, { data: { id: key, source: p.path[i], target: p.path[i + 1], p: w } });
        }
      }
    }
    const box = $("network");
    const cy = cytoscape({
      container: box,
      elements: [...nodes.values(), ...edges.values()],
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "text-wrap": "wrap", "text-max-width": 90, "background-color": "#9fb3c8", width: 14, height: 14 } },
        { selector: "node[kind = 'seed']", style: { "background-color": "#2a9d8f", width: 22, height: 22, "font-weight": "bold" } },
        { selector: "node[kind = 'target']", style: { "background-color": "#e63946", width: 20, height: 20 } },
        { selector: "edge", style: { width: "mapData(p, 0, 1, 1, 6)", "line-color": "#8d99ae", "target-arrow-color": "#8d99ae", "target-arrow-shape": "triangle", "curve-style": "bezier", opacity: 0.8 } },
      ],
      layout: { name: "cose", animate: false, nodeRepulsion: 8000, idealEdgeLength: 90 },
    });
    box.dataset.ready = "1";
    box.dataset.nodes = String(cy.nodes().length);
    return cy;
  }

  // the finished plan is rendered by the server (the same view as /influence?plan=ID)
  async function show(id, plan) {
    // same language as the page: its ?lang= is remembered in a cookie
    const response = await fetch("/influence/plans/" + encodeURIComponent(id), { credentials: "same-origin" });
    if (!response.ok) { showError(T.t("Erreur") + " " + response.status); return; }
    $("plan-result-body").innerHTML = await response.text();
    $("plan-result").hidden = false;
    const project = plan.project || {};
    $("plan-title").textContent = [project.theme_label || "", project.territory ? project.territory.name : ""].filter(Boolean).join(" · ");
    network(plan);
  }

  async function follow(id) {
    showError("");
    for (;;) {
      let job;
      try { job = await T.api("/api/v1/influence/plans/" + encodeURIComponent(id)); }
      catch (e) { showError(e.message); return; }
      progress(job);
      if (job.status === "done") { await show(job.id, job.result); return; }
      if (job.status === "failed") { showError(job.error ? job.error.message : T.t("Échec")); return; }
      if (job.status === "cancelled") { showError(T.t("Plan annulé.")); return; }
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("");
    const mode = form.querySelector("input[name=mode]:checked").value;
    const body = { code: $("plan-code").value, level: $("plan-level").value || null, epsilon: parseFloat($("plan-epsilon").value) };
    const theme = $("plan-theme").value;
    if (theme) body.theme = theme;
    if (targets.size) body.targets = [...targets].map(([id, t]) => ({ id, weight: t.weight }));
    if (mode === "k") body.k = parseInt($("plan-k").value, 10); else body.budget = parseFloat($("plan-budget").value);
    if ($("plan-seed").value) body.seed = parseInt($("plan-seed").value, 10);
    const mode_ = $("plan-candidates-mode").value;
    if (mode_ !== "all") body.candidates = mode_;
    const pole = $("plan-candidates");
    if (pole) {
      if (pole.checked) body.candidates = pole.value;
      else body.co_signers = pole.value;
    }
    if (!body.code) { showError(T.t("Erreur") + " : territoire ?"); return; }
    $("plan-submit").disabled = true;
    try {
      const job = await T.api("/api/v1/influence/plans", { method: "POST", json: body });
      progress(job);
      await follow(job.id);
    } catch (e) {
      showError(e.message);
    } finally {
      $("plan-submit").disabled = false;
    }
  });

  for (const a of document.querySelectorAll("[data-plan]")) {
    a.addEventListener("click", (ev) => { ev.preventDefault(); follow(a.dataset.plan); });
  }
  // /influence?plan=ID (a person's page links the plans that involve her) opens that plan
  const wanted = new URLSearchParams(location.search).get("plan");
  if (wanted) follow(wanted);
})();
