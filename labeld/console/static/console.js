// labeld console: a few behaviours on server-rendered pages. Words come from the server (the
// gettext catalogues), so this file holds none. State changes are JSON with the page's CSRF
// token; reads of fragments are plain GETs.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const say = (text, error) => {
    const box = document.getElementById("notice");
    if (!box) return;
    box.textContent = text;
    box.className = error ? "notice error" : "notice";
    box.hidden = !text;
  };

  async function call(method, url, body) {
    const resp = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf,
                 "Accept": "application/json, text/html" },
      body: method === "GET" ? undefined : JSON.stringify(body || {}),
    });
    const type = resp.headers.get("content-type") || "";
    const payload = type.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) {
      const err = payload && payload.error;
      throw new Error(err ? [err.message, err.hint].filter(Boolean).join(" ") : resp.statusText);
    }
    return payload;
  }

  async function refresh(region) {
    const url = region.dataset.live;
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (resp.status === 401) { location.reload(); return; }
    if (resp.ok) region.innerHTML = await resp.text();
  }
  const refreshAll = () => document.querySelectorAll("[data-live]").forEach(refresh);

  // Buttons: <button data-method="POST" data-url="/v1/jobs/ID/release" [data-confirm="..."]
  // [data-result="ID"] [data-done="..."]>. A data-result target receives the HTML answer.
  document.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-url]");
    if (!button) return;
    ev.preventDefault();
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    button.disabled = true;
    say(button.dataset.busy || "", false);
    try {
      const answer = await call(button.dataset.method || "POST", button.dataset.url,
                                button.dataset.body ? JSON.parse(button.dataset.body) : {});
      const target = button.dataset.result && document.getElementById(button.dataset.result);
      if (target) target.innerHTML = typeof answer === "string" ? answer : "";
      if (target && target.hasAttribute("tabindex")) target.focus();  // scrolled to, and read
      say(button.dataset.done || "", false);
      refreshAll();
    } catch (e) {
      say(e.message, true);
    } finally {
      button.disabled = false;
    }
  });

  // "Did it work?" on a guide page: <button data-check="/v1/printers/ID/guides/CODE/check"
  // data-result="ID" data-still="..."> asks the printer now; the answer is shown in words (the
  // API's, in the page's language) with what the printer still reports, and gets the focus so
  // that a screen reader and the keyboard land on it.
  document.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-check]");
    if (!button) return;
    ev.preventDefault();
    const box = document.getElementById(button.dataset.result);
    const lang = document.documentElement.lang || "en";
    const words = (texts) => (texts && (texts[lang] || texts.en)) || "";
    button.disabled = true;
    box.hidden = false;
    box.className = "answer";
    box.textContent = button.dataset.busy || "";
    try {
      const answer = await call("POST", button.dataset.check);
      box.textContent = "";
      box.dataset.fixed = String(answer.fixed);
      box.className = "answer " + (answer.fixed === true ? "fixed"
        : answer.fixed === false ? "still" : "unknown");
      const line = document.createElement("p");
      line.textContent = words(answer.message);
      box.append(line);
      if (answer.still.length) {
        const label = document.createElement("p");
        label.textContent = button.dataset.still || "";
        const list = document.createElement("ul");
        answer.still.forEach((r) => {
          const item = document.createElement("li");
          item.textContent = words(r.message);
          list.append(item);
        });
        box.append(label, list);
      }
      box.focus();
    } catch (e) {
      box.hidden = true;
      say(e.message, true);
    } finally {
      button.disabled = false;
    }
  });

  // Maintenance actions (Diagnose page): the button asks first; "Yes" sends the action, then
  // the job is followed until the printer has run it. Escape or "No" goes back, focus too.
  const FINISHED = ["completed", "canceled", "aborted"];
  const lang = document.documentElement.lang || "en";
  document.querySelectorAll("form.maint").forEach((form) => {
    const confirmBox = form.querySelector(".confirm");
    const ask = form.querySelector("button.ask");
    const result = form.querySelector(".result");
    const back = () => { confirmBox.hidden = true; ask.hidden = false; ask.focus(); };
    const reason = (job) => (job.error && (job.error.message_i18n?.[lang] || job.error.message)) || job.state;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      ask.hidden = true;
      confirmBox.hidden = false;
      result.textContent = "";
      confirmBox.querySelector("button.yes").focus();
    });
    confirmBox.querySelector("button.no").addEventListener("click", back);
    confirmBox.addEventListener("keydown", (ev) => { if (ev.key === "Escape") back(); });
    confirmBox.querySelector("button.yes").addEventListener("click", async () => {
      const input = form.querySelector("input[name=value]");
      confirmBox.hidden = true;
      ask.hidden = false;
      ask.disabled = true;
      try {
        let job = await call("POST", form.dataset.url, { value: input ? Number(input.value) : null });
        result.textContent = form.dataset.queued;
        form.dataset.job = job.id;
        while (!FINISHED.includes(job.state)) {
          await new Promise((r) => setTimeout(r, 500));
          job = await call("GET", `/v1/jobs/${job.id}`);
          if (job.state === "held") result.textContent = form.dataset.waiting.replace("{reason}", reason(job));
        }
        result.textContent = job.state === "completed" ? form.dataset.done
          : form.dataset.failed.replace("{reason}", reason(job));
        form.dataset.state = job.state;
        refreshAll();
      } catch (e) {
        result.textContent = form.dataset.failed.replace("{reason}", e.message);
        form.dataset.state = "refused";
      } finally {
        ask.disabled = false;
      }
    });
  });

  // Login: the token goes once to /ui/session, which answers with an HttpOnly cookie.
  const login = document.getElementById("login-form");
  login?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await call("POST", "/ui/session", { token: login.token.value.trim() });
      location.href = login.dataset.next || "/ui/";
    } catch (e) { say(e.message, true); }
  });

  // The test-label form: a live preview while typing, then a real job.
  const form = document.getElementById("print-form");
  if (form) {
    const values = () => {
      const data = {};
      form.querySelectorAll("[data-field]").forEach((i) => { data[i.dataset.field] = i.value; });
      return { printer: form.printer.value, template: form.template.value, data,
               copies: Number(form.copies?.value || 1) };
    };
    let timer = 0;
    const preview = async () => {
      const img = document.getElementById("preview-img");
      try {
        const resp = await fetch("/v1/preview", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(values()) });
        if (!resp.ok) { const b = await resp.json(); throw new Error(b.error.message); }
        URL.revokeObjectURL(img.src);
        img.src = URL.createObjectURL(await resp.blob());
        img.hidden = false;
        say("", false);
      } catch (e) { img.hidden = true; say(e.message, true); }
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(preview, 250); });
    form.template?.addEventListener("change", () => {
      location.search = new URLSearchParams({ template: form.template.value,
                                              printer: form.printer.value }).toString();
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const job = await call("POST", "/v1/jobs", values());
        say(form.dataset.sent.replace("{id}", job.id), false);
      } catch (e) { say(e.message, true); }
    });
    preview();
  }

  // The fleet page: asks every second whether the fleet view changed (its version) and then
  // fetches the shops again; every 10 s anyway, for the ages. Focus stays on the button it was
  // on. "Only failing" hides the rest here, and is kept in the address for a reload.
  const fleet = document.getElementById("fleet");
  if (fleet) {
    const filter = document.getElementById("only-failing");
    filter?.addEventListener("change", () => {
      fleet.classList.toggle("only-failing", filter.checked);
      const url = new URL(location.href);
      if (filter.checked) url.searchParams.set("failing", "1"); else url.searchParams.delete("failing");
      history.replaceState(null, "", url);
    });
    let last = Date.now();
    const reload = async () => {
      const resp = await fetch(fleet.dataset.fleet, { credentials: "same-origin",
                                                      headers: { Accept: "text/html" } });
      if (resp.status === 401) { location.reload(); return; }
      if (!resp.ok) return;
      const focused = fleet.contains(document.activeElement) ? document.activeElement.id : "";
      fleet.innerHTML = await resp.text();
      if (focused) document.getElementById(focused)?.focus();
      last = Date.now();
    };
    const tick = async () => {
      try {
        const resp = await fetch(fleet.dataset.state, { credentials: "same-origin",
                                                        headers: { Accept: "application/json" } });
        if (resp.status === 401) { location.reload(); return; }
        const state = await resp.json();
        if (String(state.version) !== fleet.dataset.version || Date.now() - last > 10000) {
          fleet.dataset.version = String(state.version);
          await reload();
        }
      } catch (e) { /* the daemon restarting: the next tick tries again */ }
    };
    setInterval(tick, 1000);
  }

  // Live: every status change and job outcome refreshes the live regions (technicians get the
  // event stream; other roles poll). The ages shown ("checked 5 s ago") need a refresh anyway.
  if (document.querySelector("[data-live]")) {
    let pending = 0;
    const soon = () => { clearTimeout(pending); pending = setTimeout(refreshAll, 150); };
    if (document.body.dataset.events === "1" && window.EventSource) {
      const es = new EventSource(document.body.dataset.eventsUrl || "/v1/events");
      es.onmessage = soon;
      ["printer-status", "job", "selftest"].forEach((t) => es.addEventListener(t, soon));
    }
    setInterval(refreshAll, Number(document.body.dataset.poll || 10000));
  }
})();
