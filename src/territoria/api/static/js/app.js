/* Territoria — shared helpers and the as-you-type search box (no framework). */
"use strict";
(function () {
  const messages = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const lang = document.documentElement.lang || "fr";
  const locale = lang === "en" ? "en-GB" : "fr-FR";

  function t(key) { return messages[key] || key; }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const d = digits === undefined ? (Math.abs(value) >= 100 ? 0 : 1) : digits;
    return new Intl.NumberFormat(locale, { maximumFractionDigits: d, minimumFractionDigits: 0 }).format(value);
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /** fetch JSON; throws an Error carrying the API's error message. */
  async function api(url, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ "Accept": "application/json", "X-CSRF-Token": csrf() }, opts.headers);
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
      delete opts.json;
    }
    const response = await fetch(url, opts);
    if (response.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : response.status + " " + response.statusText;
      const error = new Error(message);
      error.status = response.status;
      error.payload = data;
      throw error;
    }
    return data;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  /** Attach an as-you-type territory search to an input; onPick(hit) is called on choice. */
  function attachSearch(input, list, onPick) {
    let timer = null, active = -1, hits = [], seq = 0;
    function close() { list.hidden = true; active = -1; input.setAttribute("aria-expanded", "false"); }
    function highlight(i) {
      const items = list.querySelectorAll("li[role=option]");
      items.forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      active = i;
    }
    async function run() {
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      const mine = ++seq;
      let data;
      try { data = await api("/api/v1/territories?limit=10&q=" + encodeURIComponent(q)); }
      catch (e) { return; }
      if (mine !== seq) return;
      hits = data.items || [];
      list.replaceChildren();
      if (!hits.length) {
        list.append(el("li", { class: "empty", text: t("Aucun résultat") }));
      }
      hits.forEach((hit, i) => {
        const li = el("li", { role: "option", "data-code": hit.code, "data-level": hit.level }, [
          el("strong", { text: hit.name }),
          el("span", { class: "muted", text: " " + hit.level + " " + hit.code + (hit.parent ? " · " + hit.parent : "") }),
        ]);
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); onPick(hit); close(); });
        li.addEventListener("mouseenter", () => highlight(i));
        list.append(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 150); });
    input.addEventListener("keydown", (ev) => {
      if (list.hidden) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(Math.min(active + 1, hits.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter") { ev.preventDefault(); const hit = hits[active >= 0 ? active : 0]; if (hit) { onPick(hit); close(); } }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  window.Territoria = { t, fmt, api, el, csrf, attachSearch, locale };

  const box = document.getElementById("search");
  if (box) {
    attachSearch(box, document.getElementById("search-results"), (hit) => {
      window.location = "/territoires/" + encodeURIComponent(hit.level) + "/" + encodeURIComponent(hit.code);
    });
  }
})();
