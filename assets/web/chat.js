// Harbor & Pine web chat. Plain JavaScript, no build step, no dependencies.
//
// - Messages are shown from the server's stream, each once (by store id).
// - A dropped stream reconnects with backoff and resumes after the last id seen.
// - Every message the customer sends carries its own client id: a retry after a lost answer is
//   stored once, and the pending copy is replaced by the stored one.
// - The session (conversation, token, last id, unsent messages) is kept in localStorage, so a
//   reload or a closed tab picks up where it was.
// - Text is only ever set with textContent: nothing the agent or customer types becomes markup.
"use strict";

(function () {
  const KEY = "deskpilot-chat";
  const $ = (id) => document.getElementById(id);
  const el = {
    start: $("start"), startButton: $("start-button"), startError: $("start-error"),
    conversation: $("conversation"), log: $("log"), typing: $("typing"), status: $("status"),
    composer: $("composer"), text: $("text"), send: $("send"), sendError: $("send-error"),
  };
  const shown = new Set(); // store ids on screen
  let session = load();
  let socket = null;
  let backoff = 500;
  let typingSent = 0;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch (_) { return null; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(session)); } catch (_) { /* private mode: memory only */ }
  }
  function clientId() {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return "c-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function setStatus(text) { el.status.textContent = text; }

  function bubble(author, text, pendingId) {
    const li = document.createElement("li");
    li.className = "msg " + (author === "customer" ? "customer" : author === "agent" ? "agent" : "system");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = author === "customer" ? "You" : author === "agent" ? "Agent" : "Notice";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    if (pendingId) { li.dataset.client = pendingId; li.classList.add("pending"); }
    return li;
  }
  function scroll() { el.log.scrollTop = el.log.scrollHeight; }

  function showMessage(m) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    if (m.id > (session.last || 0)) { session.last = m.id; save(); }
    const pending = m.client_id && el.log.querySelector('[data-client="' + CSS.escape(m.client_id) + '"]');
    if (pending) {
      pending.classList.remove("pending", "failed");
      pending.dataset.id = String(m.id);
      delete pending.dataset.client;
      return;
    }
    const li = bubble(m.author, m.text);
    li.dataset.id = String(m.id);
    el.log.append(li);
    if (m.author === "agent") el.typing.textContent = "";
    scroll();
  }

  function connect() {
    if (!session || socket) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/api/v1/conversations/" + encodeURIComponent(session.id) +
      "/stream?token=" + encodeURIComponent(session.token) + "&after=" + (session.last || 0);
    setStatus("Connecting…");
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => { backoff = 500; setStatus("Connected: an agent will reply here"); };
    ws.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch (_) { return; }
      if (ev.type === "message") showMessage(ev);
      else if (ev.type === "typing") el.typing.textContent = ev.typing ? "The agent is typing…" : "";
      else if (ev.type === "status") {
        if (ev.status === "resolved") setStatus("This conversation is resolved. Write again to reopen it.");
      }
    };
    ws.onclose = (e) => {
      socket = null;
      if (e.code === 1008 || e.code === 4403) { setStatus("This chat has ended."); return; }
      setStatus("Connection lost, reconnecting…");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 8000);
    };
  }

  async function api(path, body) {
    const headers = { "Content-Type": "application/json" };
    if (session && session.token) headers.Authorization = "Bearer " + session.token;
    const r = await fetch(path, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    return { status: r.status, data, retryAfter: Number(r.headers.get("Retry-After")) || 0 };
  }

  // Sends the outbox in order; a message stays in it (and on screen) until the server stored it.
  let flushing = false;
  async function flush() {
    if (flushing || !session) return;
    flushing = true;
    el.sendError.textContent = "";
    try {
      while (session.outbox.length) {
        const m = session.outbox[0];
        let r;
        try { r = await api("/api/v1/conversations/" + encodeURIComponent(session.id) + "/messages", { text: m.text, client_id: m.client_id }); }
        catch (_) { r = { status: 0 }; }
        if (r.status === 200 || r.status === 201) {
          session.outbox.shift(); save();
          showMessage({ id: r.data.id, author: "customer", text: m.text, client_id: m.client_id });
          continue;
        }
        if (r.status === 400 || r.status === 413) {
          // The server will never take this one: say why, give the text back to edit.
          session.outbox.shift(); save();
          const li = el.log.querySelector('[data-client="' + CSS.escape(m.client_id) + '"]');
          if (li) li.remove();
          el.sendError.textContent = "Not sent: " + ((r.data && r.data.error) || "rejected");
          if (!el.text.value) el.text.value = m.text;
          continue;
        }
        const li = el.log.querySelector('[data-client="' + CSS.escape(m.client_id) + '"]');
        if (li) li.classList.add("failed");
        const wait = r.status === 429 ? Math.max(1000, r.retryAfter * 1000) : 2000;
        await new Promise((res) => setTimeout(res, wait));
      }
    } finally {
      flushing = false;
    }
  }

  function enterChat() {
    el.start.hidden = true;
    el.conversation.hidden = false;
    for (const m of session.outbox) el.log.append(bubble("customer", m.text, m.client_id));
    connect();
    flush();
    el.text.focus();
  }

  el.start.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(el.start);
    const body = {
      name: String(form.get("name") || "").trim(),
      email: String(form.get("email") || "").trim(),
      language: String(form.get("language") || "en"),
      message: String(form.get("message") || "").trim(),
      client_id: clientId(),
    };
    if (!body.name || !body.email || !body.message) {
      el.startError.textContent = "Please fill in your name, email and question.";
      return;
    }
    el.startButton.disabled = true;
    el.startError.textContent = "";
    try {
      const r = await api("/api/v1/conversations", body);
      if (r.status !== 201) {
        el.startError.textContent = (r.data && r.data.error) || "Could not start the chat (" + r.status + ").";
        return;
      }
      session = { id: r.data.conversation, token: r.data.token, last: 0, outbox: [] };
      save();
      enterChat();
    } catch (_) {
      el.startError.textContent = "Could not reach the server; please try again.";
    } finally {
      el.startButton.disabled = false;
    }
  });

  function sendTyped() {
    const text = el.text.value.trim();
    if (!text) return;
    const m = { text, client_id: clientId() };
    session.outbox.push(m);
    save();
    el.log.append(bubble("customer", text, m.client_id));
    scroll();
    el.text.value = "";
    flush();
  }
  el.composer.addEventListener("submit", (e) => { e.preventDefault(); sendTyped(); });
  el.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendTyped(); }
  });
  el.text.addEventListener("input", () => {
    const now = Date.now();
    if (session && now - typingSent > 3000 && el.text.value.trim()) {
      typingSent = now;
      api("/api/v1/conversations/" + encodeURIComponent(session.id) + "/typing").catch(() => {});
    }
  });
  window.addEventListener("online", () => { connect(); flush(); });

  if (session && session.id && session.token) {
    session.outbox = session.outbox || [];
    session.last = 0; // the log is empty after a reload: read it all again
    enterChat();
  }
})();
