// Homedesk console: live updates over one WebSocket, and small conveniences. Our own code, no libraries.
// Everything that comes from the server is put on the page with textContent, never as HTML.
"use strict";

(function () {
  // The page's language: what this script says (marked _("...") for Babel's JavaScript extractor, translated by
  // the server into the page) and the words for the codes live rows carry (modes, reasons, languages...).
  const texts = (() => {
    try { return JSON.parse(document.getElementById("console-i18n").textContent); } catch (e) { return {}; }
  })();
  const messages = texts.messages || {};
  function _(message, params) {
    const text = messages[message] || message;
    return text.replace(/%\((\w+)\)s|%%/g, (whole, name) => (name ? String((params || {})[name] ?? "") : "%"));
  }
  function word(kind, value) {
    if (value === null || value === undefined || value === "") return "";
    return ((texts.words || {})[kind] || {})[value] || String(value);
  }
  const clock = new Intl.DateTimeFormat(texts.lang || undefined, {
    // the same format as the server's `datetime` filter (Mar 2, 2026, 09:05 / 2026年3月2日 09:05)
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    timeZone: texts.timeZone || undefined,
  });

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const me = Number(document.querySelector('meta[name="staff-id"]')?.content || 0);
  const page = document.body.dataset.page;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function toast(text, link) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = link ? el("a", { href: link, class: "toast" }, text) : el("p", { class: "toast" }, text);
    box.appendChild(item);
    setTimeout(() => item.remove(), 8000);
  }

  function waited(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    const minutes = Math.floor(seconds / 60);
    if (minutes >= 60) return _("%(hours)s h %(minutes)s min", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
    if (minutes >= 1) return _("%(minutes)s min %(seconds)s s", { minutes: minutes, seconds: seconds % 60 });
    return _("%(seconds)s s", { seconds: seconds });
  }

  // ---- live connection -------------------------------------------------------------------------------
  const handlers = [];
  let liveSocket = null;
  // onReconnect runs after a dropped connection comes back, to fetch what was missed meanwhile. `query` may be a
  // function: a page that changes what it shows (the inbox's pane) reconnects with what it shows now.
  function connect(query, onReconnect) {
    const state = document.getElementById("live-state");
    let delay = 500;
    let opened = false;
    function open() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(scheme + "//" + location.host + "/ws?" + (typeof query === "function" ? query() : query));
      liveSocket = socket;
      socket.onopen = () => {
        delay = 500;
        state && state.classList.add("on");
        if (opened) { countsSoon(); if (onReconnect) onReconnect(); }
        opened = true;
      };
      socket.onmessage = (event) => {
        let data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data.type === "notification") toast(data.text, data.link);
        handlers.forEach((handler) => handler(data));
      };
      socket.onclose = () => {
        state && state.classList.remove("on");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
  }
  // Tell the open channel what this page shows now (the server's "watch"); a reconnect asks with `query` again.
  function watch(body) {
    if (liveSocket && liveSocket.readyState === WebSocket.OPEN) liveSocket.send(JSON.stringify({ type: "watch", ...body }));
  }

  // ---- attention: counters, the tab title, sound and desktop notifications, on every page --------------
  // The server tells every page of agents and admins when something changes ("attention"); the page asks for
  // the counters again (one request for a burst) and alerts for a new waiting customer, or for a customer's
  // message in one of my conversations, unless I am looking at that conversation right now.
  let baseTitle = document.title;
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } },
  };
  let countsPending = null;
  function showCounts(counts) {
    for (const view of ["waiting", "mine", "open"]) {
      const badge = document.getElementById("count-" + view);
      if (badge && counts[view] !== undefined) badge.textContent = String(counts[view]);
    }
    const attention = (counts.waiting || 0) + (counts.unread || 0);
    document.title = attention ? "(" + attention + ") " + baseTitle : baseTitle;
    const nav = document.getElementById("nav-attention");
    if (nav) { nav.textContent = String(attention); nav.classList.toggle("hidden", !attention); }
  }
  async function refreshCounts() {
    countsPending = null;
    try {
      const response = await fetch("/api/inbox/counts", { headers: { Accept: "application/json" } });
      if (response.ok) showCounts(await response.json());
    } catch (e) { /* the next change asks again */ }
  }
  function countsSoon() { if (!countsPending) countsPending = setTimeout(refreshCounts, 150); }

  function beep() {
    if (store.get("homedesk.sound") !== "on") return;
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio here */ }
  }
  function alertStaff(text, link) {
    toast(text, link);
    beep();
    if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
      try {
        const note = new Notification(text, { tag: link || text });
        note.onclick = () => { window.focus(); if (link) location.href = link; };
      } catch (e) { /* notifications need a service worker on some phones */ }
    }
  }
  function looking(conversationId) {
    return document.visibilityState === "visible" &&
      Number(document.getElementById("conversation")?.dataset.conversation) === conversationId;
  }
  function startAttention() {
    if (!document.getElementById("availability")) return;  // service staff do not answer chats
    handlers.push((data) => {
      if (data.type !== "attention") return;
      countsSoon();
      const row = data.row || {};
      const link = "/conversations/" + row.conversation_id;
      if (data.kind === "waiting") {
        alertStaff(_("New customer waiting: %(name)s", { name: row.customer_name }), link);
      } else if (data.kind === "message" && row.assignee_id === me && !looking(row.conversation_id)) {
        alertStaff(_("New message from %(name)s", { name: row.customer_name }), link);
      }
    });
    const sound = document.getElementById("sound-toggle");
    if (sound) {
      const show = () => sound.setAttribute("aria-pressed", String(store.get("homedesk.sound") === "on"));
      sound.hidden = false;
      show();
      sound.addEventListener("click", () => { store.set("homedesk.sound", store.get("homedesk.sound") === "on" ? "off" : "on"); show(); beep(); });
    }
    const permission = document.getElementById("notify-permission");
    if (permission && "Notification" in window && Notification.permission === "default") {
      permission.hidden = false;
      permission.addEventListener("click", async () => {
        try { await Notification.requestPermission(); } catch (e) { /* refused */ }
        permission.hidden = Notification.permission !== "default";
      });
    }
    refreshCounts();
  }

  // ---- inbox ------------------------------------------------------------------------------------------
  function belongs(view, row, myTeam) {
    if (view === "waiting") return row.status === "open" && row.mode === "waiting" && !row.team;
    if (view === "mine") return row.status === "open" && row.assignee_id === me;
    if (view === "open") return row.status === "open";
    if (view === "closed") return row.status === "closed";
    if (view === "team") return row.status === "open" && row.mode === "waiting" && !!row.team && (myTeam === "*" || row.team === myTeam);
    return false;
  }

  // The list's view and filters, kept in a conversation's address when it opens beside the list.
  const LIST_KEYS = ["view", "q", "channel", "language", "team", "waiting", "sort"];
  function listQuery() {
    const here = new URLSearchParams(location.search);
    const kept = new URLSearchParams();
    LIST_KEYS.forEach((key) => { if (here.get(key)) kept.set(key, here.get(key)); });
    const text = kept.toString();
    return text ? "?" + text : "";
  }
  const shownConversation = () => Number(document.getElementById("conversation")?.dataset.conversation || 0);

  function inboxRow(row) {
    const selected = row.conversation_id === shownConversation();
    const tr = el("tr", { "data-conversation": row.conversation_id, "data-waiting-since": row.waiting_since || "",
      class: selected ? "selected" : null });
    const who = el("td");
    who.appendChild(el("a", { href: "/conversations/" + row.conversation_id + listQuery(), "aria-current": selected ? "true" : null }, row.customer_name));
    if (row.username) who.appendChild(el("span", { class: "muted" }, " @" + row.username));
    who.appendChild(document.createTextNode(" "));
    who.appendChild(el("span", { class: "badge unread" + (row.unread ? "" : " hidden"), title: _("Unread messages") }, String(row.unread || 0)));
    tr.appendChild(who);
    const reason = el("td", {}, word("handoff_reason", row.reason));
    if (row.team) {  // waiting for a team (a transfer to a team)
      reason.appendChild(document.createTextNode(" · "));
      reason.appendChild(el("span", { class: "team", "data-team": row.team }, word("team", row.team)));
    }
    tr.appendChild(reason);
    const state = el("td");
    state.appendChild(el("span", { class: "mode mode-" + row.mode }, word("conversation_mode", row.mode)));
    if (row.assignee_name) state.appendChild(document.createTextNode(" · " + row.assignee_name));
    if (row.status === "closed") state.appendChild(document.createTextNode(" · " + word("conversation_status", row.status)));
    tr.appendChild(state);
    tr.appendChild(el("td", { class: "waited" }, waited(row.waiting_since)));
    tr.appendChild(el("td", {}, word("language", row.language)));
    const channel = el("td");
    channel.appendChild(el("span", { class: "channel channel-" + row.channel }, word("channel", row.channel)));
    tr.appendChild(channel);
    tr.appendChild(el("td", { class: "last", translate: "no" }, row.last_text));
    const action = el("td");
    if (row.status === "open" && (row.mode === "waiting" || row.mode === "bot")) {
      const form = el("form", { method: "post", action: "/conversations/" + row.conversation_id + "/take", class: "inline" });
      form.appendChild(el("input", { type: "hidden", name: "csrf_token", value: csrf() }));
      form.appendChild(el("button", { class: "take" }, _("Take")));
      action.appendChild(form);
    }
    tr.appendChild(action);
    return tr;
  }

  function startInbox() {
    const table = document.getElementById("inbox");
    const body = table.querySelector("tbody");
    const view = table.dataset.view;
    const myTeam = table.dataset.team || "";  // "*": every team's (admins)
    const empty = document.getElementById("inbox-empty");
    const byWaiting = view === "waiting" || view === "team" || table.dataset.sort === "waiting";
    // A live row joins the list only if it passes the filters the server applied (channel, language); the
    // others (search, team, waiting time) are checked when the list is reloaded.
    const params = new URLSearchParams(location.search);
    const matchesFilters = (row) => (!params.get("channel") || row.channel === params.get("channel")) &&
      (!params.get("language") || row.language === params.get("language")) &&
      !params.get("q") && !params.get("team") && !params.get("waiting");
    const refreshEmpty = () => empty.classList.toggle("hidden", body.children.length > 0);
    const tick = () => body.querySelectorAll("tr").forEach((tr) => {
      tr.querySelector(".waited").textContent = waited(tr.dataset.waitingSince);
    });
    tick();
    setInterval(tick, 1000);
    handlers.push((data) => {
      if (data.type !== "conversation") return;
      const row = data.row;
      const existing = body.querySelector('tr[data-conversation="' + row.conversation_id + '"]');
      if (belongs(view, row, myTeam) && matchesFilters(row)) {
        const fresh = inboxRow(row);
        // Longest waiting first keeps the queue's order; latest activity puts a changed row on top.
        if (existing && (byWaiting || !row.last_message_at || existing === body.firstElementChild)) existing.replaceWith(fresh);
        else {
          if (existing) existing.remove();
          if (byWaiting) body.appendChild(fresh);
          else body.insertBefore(fresh, body.firstChild);
        }
        // Agents and admins hear of new waiting customers on every page (attention); service staff, who have no
        // Available switch, hear of a chat transferred to their team here.
        if (!existing && view === "team" && !document.getElementById("availability")) toast(_("New customer waiting: %(name)s", { name: row.customer_name }), "/conversations/" + row.conversation_id);
      } else if (existing) {
        existing.remove();
      }
      if (data.requeued && row.mode === "waiting") toast(_("%(name)s is back in the queue (no answer).", { name: row.customer_name }), "/conversations/" + row.conversation_id);
      refreshEmpty();
    });
    // after a reconnect: the list again, with the same view and filters
    return async () => {
      const query = new URLSearchParams(listQuery());
      query.set("view", view);
      const response = await fetch("/api/inbox?" + query.toString(), { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      body.textContent = "";
      data.rows.forEach((row) => body.appendChild(inboxRow(row)));
      tick();
      refreshEmpty();
    };
  }

  // ---- conversation -----------------------------------------------------------------------------------
  function messageItem(m, conversationId) {
    const classes = ["msg", m.direction, m.sender];
    if (m.private_note) classes.push("note");
    const li = el("li", { class: classes.join(" "), "data-message-id": m.id });
    const meta = el("div", { class: "meta" }, (m.private_note ? _("Private note") + " · " : "") +
      (m.staff_name || word("sender", m.sender)) + " · " + clock.format(new Date(m.created_at)) + " ");
    if (m.direction === "out" && m.delivery_status) meta.appendChild(el("span", { class: "delivery delivery-" + m.delivery_status }, word("delivery", m.delivery_status)));
    li.appendChild(meta);
    li.appendChild(el("div", { class: "text", translate: "no" }, m.text));
    if (m.sent_photo === "file") {
      li.appendChild(el("img", { class: "photo", alt: _("Photo sent to the customer"), loading: "lazy",
        src: "/conversations/" + conversationId + "/sent-photos/" + m.id }));
    } else if (m.sent_photo) {
      li.appendChild(el("a", { class: "photo-link", href: m.sent_photo, rel: "noopener noreferrer", target: "_blank" }, _("Photo sent to the customer (link)")));
    }
    for (let i = 0; i < (m.photos || 0); i++) {
      li.appendChild(el("img", { class: "photo", alt: _("Photo from the customer"), loading: "lazy",
        src: "/conversations/" + conversationId + "/photos/" + m.id + "/" + i }));
    }
    return li;
  }

  // The conversation shown (its own page, or the inbox's pane): live messages, delivery, state changes, the
  // customer typing, unread marking, the reply box and canned replies. Returns how to stop (the pane shows another
  // conversation) and what to fetch after a reconnect.
  const TYPING_SHOWN_MS = 6000;  // the web chat says "typing" every few seconds while the customer types
  function startConversation() {
    const root = document.getElementById("conversation");
    const id = Number(root.dataset.conversation);
    const list = document.getElementById("messages");
    const typingNote = document.getElementById("typing");
    let typingTimer = null;
    const stopTyping = () => { clearTimeout(typingTimer); typingTimer = null; if (typingNote) typingNote.classList.add("hidden"); };
    const scroll = () => { list.scrollTop = list.scrollHeight; };
    scroll();
    // Messages that arrive while the tab is visible are read; the rest when the agent comes back to the tab.
    let unseen = false;
    function seen() {
      if (document.visibilityState !== "visible") { unseen = true; return; }
      unseen = false;
      const ids = Array.from(list.querySelectorAll("[data-message-id]"), (item) => Number(item.dataset.messageId));
      if (!ids.length) return;
      const body = new URLSearchParams({ message_id: String(Math.max(...ids)), csrf_token: csrf() });
      fetch("/api/conversations/" + id + "/seen", { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": csrf() } }).catch(() => {});
    }
    const onVisible = () => { if (unseen) seen(); };
    document.addEventListener("visibilitychange", onVisible);
    const handler = (data) => {
      if (data.type === "message" && data.message.conversation_id === id) {
        if (list.querySelector('[data-message-id="' + data.message.id + '"]')) return;
        list.appendChild(messageItem(data.message, id));
        scroll();
        if (data.message.direction === "in") { stopTyping(); seen(); }
      } else if (data.type === "typing" && data.conversation_id === id && typingNote) {
        typingNote.classList.remove("hidden");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(stopTyping, TYPING_SHOWN_MS);
      } else if (data.type === "status") {
        const item = list.querySelector('[data-message-id="' + data.message_id + '"]');
        const badge = item && item.querySelector(".delivery");
        if (badge) { badge.textContent = word("delivery", data.status); badge.className = "delivery delivery-" + data.status; }
      } else if (data.type === "conversation" && data.row.conversation_id === id) {
        const row = data.row;
        const changed = row.mode !== root.dataset.mode || row.status !== root.dataset.status ||
          String(row.assignee_id || "") !== root.dataset.assignee;
        if (changed) {
          const state = document.getElementById("conversation-state");
          state.textContent = "";
          state.appendChild(el("span", { class: "mode mode-" + row.mode }, word("conversation_mode", row.mode)));
          state.appendChild(document.createTextNode((row.status === "closed" ? " · " + word("conversation_status", row.status) : "") +
            (row.assignee_name ? " · " + _("with %(name)s", { name: row.assignee_name }) : "")));
          document.getElementById("changed-notice").classList.remove("hidden");
        }
      }
    };
    handlers.push(handler);

    const form = document.getElementById("reply-form");
    if (form) {
      const text = document.getElementById("reply-text");
      let sending = false;  // one reply per press: a second submit while the first is on its way is ignored
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!text.value.trim() || sending) return;
        sending = true;
        const body = new URLSearchParams({ text: text.value, csrf_token: csrf() });
        let response, result;
        try {
          response = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": csrf() } });
          result = await response.json().catch(() => ({}));
        } catch (e) {
          toast(_("Not sent."));
          return;
        } finally {
          sending = false;
        }
        if (!response.ok) { toast(result.message || result.error || _("Not sent.")); return; }
        text.value = "";
        if (result.message && !list.querySelector('[data-message-id="' + result.message.id + '"]')) {
          list.appendChild(messageItem(result.message, id));
          scroll();
        }
      });
      // Ctrl+Enter sends: the page's shortcuts handle it (one handler, so one reply)
      const search = document.getElementById("canned-search");
      const language = document.getElementById("canned-lang");
      const filter = () => {
        const query = search.value.toLowerCase();
        root.querySelectorAll(".canned-item").forEach((button) => {
          const matches = (!language.value || button.dataset.lang === language.value) &&
            (button.textContent.toLowerCase().includes(query) || button.dataset.body.toLowerCase().includes(query));
          button.parentElement.classList.toggle("hidden", !matches);
        });
      };
      search.addEventListener("input", filter);
      language.addEventListener("change", filter);
      filter();
      root.querySelectorAll(".canned-item").forEach((button) => button.addEventListener("click", () => {
        text.value = text.value ? text.value + "\n" + button.dataset.body : button.dataset.body;
        text.focus();
      }));
    }
    return {
      id,
      stop() {
        const at = handlers.indexOf(handler);
        if (at >= 0) handlers.splice(at, 1);
        document.removeEventListener("visibilitychange", onVisible);
        stopTyping();
      },
      async reload() {  // after a reconnect: the messages missed meanwhile
        const ids = Array.from(list.querySelectorAll("[data-message-id]"), (item) => Number(item.dataset.messageId));
        const after = ids.length ? Math.max(...ids) : 0;
        const response = await fetch("/api/conversations/" + id + "/messages?after=" + after, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        data.messages.forEach((m) => {
          if (!list.querySelector('[data-message-id="' + m.id + '"]')) list.appendChild(messageItem(m, id));
        });
        scroll();
      },
    };
  }

  // ---- the inbox and a conversation side by side on a wide screen ------------------------------------------
  // The inbox page and a conversation's page are one workspace: the work list at the left, a conversation at the
  // right. On a wide screen, choosing a row fetches that conversation (the same page, `?pane=1`: only the
  // conversation) into the right-hand pane and puts its address in the history (so Back, a reload and a copied
  // link show the same); the live channel is told to watch it. Narrower screens show one at a time (CSS) and a
  // row is an ordinary link. Every action in the pane is the conversation page's own form, so it works the same.
  const WIDE = window.matchMedia("(min-width: 1200px)");
  let openInPane = null;  // set on the workspace pages: (id, push) => Promise
  function startWorkspace() {
    const hasList = !!document.getElementById("inbox");
    const reloadList = hasList ? startInbox() : null;
    let thread = document.getElementById("conversation") ? startConversation() : null;
    if (thread && document.getElementById("conversation").dataset.title) baseTitle = document.getElementById("conversation").dataset.title;
    const query = () => {
      const q = new URLSearchParams();
      if (hasList) q.set("inbox", "1");
      if (thread) q.set("conversation", String(thread.id));
      return q.toString();
    };
    connect(query, () => { if (reloadList) reloadList(); if (thread) thread.reload(); });
    const pane = document.getElementById("pane");
    if (!hasList || !pane) return;

    function markSelected(id) {
      document.querySelectorAll("#inbox tbody tr").forEach((tr) => {
        const chosen = Number(tr.dataset.conversation) === id;
        tr.classList.toggle("selected", chosen);
        const link = tr.querySelector("td:first-child a");
        if (link) { if (chosen) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current"); }
      });
    }
    let loading = 0;
    openInPane = async (id, push) => {
      const ticket = ++loading;  // a quicker second choice wins over a slow first one
      const address = "/conversations/" + id + listQuery();
      let fresh = null;
      try {
        const response = await fetch("/conversations/" + id + "?pane=1" + listQuery().replace("?", "&"), { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (response.ok) fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("conversation");
      } catch (e) { /* offline: the ordinary page says why */ }
      if (ticket !== loading) return;
      if (!fresh) { location.assign(address); return; }
      if (thread) thread.stop();
      pane.replaceChildren(document.importNode(fresh, true));
      document.body.dataset.page = "conversation";
      thread = startConversation();
      baseTitle = document.getElementById("conversation").dataset.title || baseTitle;
      countsSoon();  // opening it read it: the title counter and the badges follow
      markSelected(id);
      watch({ conversation_id: id, inbox: true });
      if (push) history.pushState({ conversation: id }, "", address);
      pane.querySelector("h1")?.focus({ preventScroll: true });
    };
    document.getElementById("inbox").addEventListener("click", (event) => {
      const link = event.target instanceof Element ? event.target.closest('td:first-child a[href^="/conversations/"]') : null;
      if (!link || !WIDE.matches || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      const row = link.closest("tr");
      event.preventDefault();
      openInPane(Number(row.dataset.conversation), true);
    });
    window.addEventListener("popstate", () => {
      const match = location.pathname.match(/^\/conversations\/(\d+)$/);
      if (match && WIDE.matches) openInPane(Number(match[1]), false);
      else location.reload();
    });
  }

  // ---- tickets board -------------------------------------------------------------------------------
  // When any ticket changes, ask the server for the list again with the same filters and page: the server
  // decides what matches, so the live list is exactly what a reload would show.
  function startTickets() {
    const list = document.getElementById("tickets");
    if (!list) return connect("");
    let pending = null;
    async function refresh() {
      pending = null;
      const url = new URL(location.href);
      url.searchParams.set("fragment", "list");
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return;
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#tickets");
        const current = document.getElementById("tickets");
        if (fresh && current) current.replaceWith(fresh);
      } catch (e) { /* offline for a moment: the next change or a reconnect refreshes again */ }
    }
    // A burst of changes (a bulk assignment) refreshes once.
    function soon() { if (!pending) pending = setTimeout(refresh, 250); }
    handlers.push((data) => { if (data.type === "ticket") soon(); });
    connect("tickets=1", soon);
  }

  // A ticket's page: when this ticket changes (the customer accepts a quote, someone moves it), its facts, the
  // moves allowed now and the history are fetched again; the forms being filled in are left alone.
  function startTicket() {
    const holder = document.getElementById("ticket");
    if (!holder) return connect("");
    const id = Number(holder.dataset.ticket);
    let pending = null;
    async function refresh() {
      pending = null;
      try {
        const response = await fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const part of ["ticket-status", "ticket-facts", "ticket-moves", "assignee", "history"]) {
          const now = fresh.getElementById(part), shown = document.getElementById(part);
          if (now && shown) shown.replaceWith(document.importNode(now, true));
        }
      } catch (e) { /* offline for a moment: the next change or a reconnect refreshes again */ }
    }
    function soon() { if (!pending) pending = setTimeout(refresh, 150); }
    handlers.push((data) => { if (data.type === "ticket" && Number(data.ticket_id) === id) soon(); });
    connect("ticket=" + id, soon);
  }

  // ---- confirm before Close and Delete: a button or form with data-confirm asks first -----------------------
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const question = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // ---- keyboard shortcuts, listed on the help overlay opened with "?" ----------------------------------------
  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  async function nextWaiting() {
    try {
      const response = await fetch("/api/inbox?view=waiting&sort=waiting", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const here = Number(document.getElementById("conversation")?.dataset.conversation || 0);
      const row = (await response.json()).rows.find((r) => r.conversation_id !== here);
      if (row && openInPane && WIDE.matches) { openInPane(row.conversation_id, true); return; }
      if (row) location.assign("/conversations/" + row.conversation_id);
      else toast(_("Nobody is waiting."));
    } catch (e) { /* offline for a moment */ }
  }
  function press(id) {
    const button = document.getElementById(id);
    if (!button) return false;
    if (button.form && typeof button.form.requestSubmit === "function") button.form.requestSubmit(button);
    else button.click();
    return true;
  }
  document.addEventListener("keydown", (event) => {
    const help = document.getElementById("shortcuts");
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target.id === "reply-text") {
      event.preventDefault();
      press("send");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?" && help) {
      event.preventDefault();
      if (help.open) help.close(); else help.showModal();
      return;
    }
    if (help && help.open) return;
    const focus = (id) => { const field = document.getElementById(id); if (field) { event.preventDefault(); field.focus(); } };
    switch (event.key) {
      case "n": event.preventDefault(); nextWaiting(); break;
      case "t": if (document.getElementById("take")) { event.preventDefault(); press("take"); } break;
      case "r": focus("reply-text"); break;
      case "c": focus("canned-search"); break;
      case "X": if (document.getElementById("close")) { event.preventDefault(); press("close"); } break;
      default: break;
    }
  });
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("#shortcuts-open")) document.getElementById("shortcuts")?.showModal();
    if (target && target.closest("#shortcuts-close")) document.getElementById("shortcuts")?.close();
  });

  document.addEventListener("DOMContentLoaded", () => {
    startAttention();
    if (page === "inbox" || page === "conversation") startWorkspace();
    else if (page === "tickets") startTickets();
    else if (page === "ticket") startTicket();
    else if (me) connect("");
  });
})();
