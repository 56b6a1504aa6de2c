/* Territoria — shared helpers and the as-you-type search box (no framework). */
"use strict";
(function () {
  const messages = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const lang = document.documentElement.lang || "fr";
  const locale = lang === "en" ? "en-GB" : "fr-FR";

  function t(key) { return messages[key] || key; }
  /** The display name of a level key: level("region") is "Région". */
  function level(key) { return messages["level:" + key] || key; }

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

  /** Attach as-you-type suggestions to an input. load(q) resolves to groups
      [{label, items: [{hit, kind, title, detail}]}] (a group's label may be empty);
      onPick(item) is called on choice. */
  function attachSuggest(input, list, load, onPick) {
    let timer = null, active = -1, items = [], seq = 0;
    function close() { list.hidden = true; active = -1; input.setAttribute("aria-expanded", "false"); }
    function highlight(i) {
      const options = list.querySelectorAll("li[role=option]");
      options.forEach((li, j) => li.setAttribute("aria-selected", j === i ? "true" : "false"));
      active = i;
    }
    async function run() {
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      const mine = ++seq;
      let groups;
      try { groups = await load(q); }
      catch (e) { return; }
      if (mine !== seq) return;
      items = [];
      list.replaceChildren();
      for (const group of groups) {
        if (!group.items.length) continue;
        if (group.label) list.append(el("li", { class: "group", role: "presentation", text: group.label }));
        for (const item of group.items) {
          const i = items.length;
          items.push(item);
          const li = el("li", { role: "option", "data-kind": item.kind, "data-id": item.id }, [
            el("strong", { text: item.title }),
            el("span", { class: "muted", text: item.detail ? " " + item.detail : "" }),
          ]);
          li.addEventListener("mousedown", (ev) => { ev.preventDefault(); onPick(item); close(); });
          li.addEventListener("mouseenter", () => highlight(i));
          list.append(li);
        }
      }
      if (!items.length) list.append(el("li", { class: "empty", text: t("Aucun résultat") }));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 150); });
    input.addEventListener("keydown", (ev) => {
      if (list.hidden) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter") { ev.preventDefault(); const item = items[active >= 0 ? active : 0]; if (item) { onPick(item); close(); } }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  function territoryItems(hits) {
    return (hits || []).map((hit) => ({
      hit, kind: "territory", id: hit.level + "/" + hit.code, title: hit.name,
      detail: level(hit.level) + " " + hit.code + (hit.parent ? " · " + hit.parent : ""),
    }));
  }

  function personItems(hits) {
    return (hits || []).map((hit) => ({
      hit, kind: "person", id: hit.id, title: hit.name + (hit.birth_year ? " (" + hit.birth_year + ")" : ""),
      detail: (hit.titles || []).slice(0, 2).map((x) => x.label + ", " + x.body).join(" · "),
    }));
  }

  /** Attach an as-you-type territory search to an input; onPick(hit) is called on choice. */
  function attachSearch(input, list, onPick) {
    attachSuggest(input, list, async (q) => {
      const data = await api("/api/v1/territories?limit=10&q=" + encodeURIComponent(q));
      return [{ label: "", items: territoryItems(data.items) }];
    }, (item) => onPick(item.hit));
  }

  /** Attach an as-you-type search of persons (elected officials) to an input; onPick(hit)
      receives {id, name, birth_year, titles}. */
  function attachPersonSearch(input, list, onPick) {
    attachSuggest(input, list, async (q) => {
      const data = await api("/api/v1/persons?limit=8&q=" + encodeURIComponent(q));
      return [{ label: "", items: personItems(data.items) }];
    }, (item) => onPick(item.hit));
  }

  window.Territoria = { t, level, fmt, api, el, csrf, attachSearch, attachPersonSearch, attachSuggest, locale };

  // The FR/EN switch opens this page as it is now (a map's controls change its address).
  for (const link of document.querySelectorAll(".langs a")) {
    link.addEventListener("click", () => {
      const target = new URL(window.location.href);
      target.searchParams.set("lang", new URL(link.href, window.location.href).searchParams.get("lang"));
      link.href = target.pathname + target.search + target.hash;
    });
  }

  // The top bar: territories and persons, grouped; a choice opens its page.
  const box = document.getElementById("search");
  if (box) {
    attachSuggest(box, document.getElementById("search-results"), async (q) => {
      const data = await api("/api/v1/search?limit=6&q=" + encodeURIComponent(q));
      return [
        { label: t("Territoires"), items: territoryItems(data.territories) },
        { label: t("Personnes"), items: personItems(data.persons) },
      ];
    }, (item) => {
      const hit = item.hit;
      window.location = item.kind === "person"
        ? "/personnes/" + encodeURIComponent(hit.id)
        : "/territoires/" + encodeURIComponent(hit.level) + "/" + encodeURIComponent(hit.code);
    });
  }
})();
