/* Homedesk web chat page. Talks to /chat/ws (protocol in bot/webchat/protocol.py); draws the bot's Telegram-subset
   HTML with a whitelist walker (never as markup); keeps the visitor token in localStorage (and a cookie) so a reload,
   or the widget's iframe, is the same visitor. */
(function () {
  "use strict";

  var config = JSON.parse(document.body.getAttribute("data-config") || "{}");
  var S = config.strings || {};
  var lang = config.lang || "en";
  var TOKEN_KEY = "homedesk.webchat.token";
  var COOKIE = "homedesk_visitor";

  var state = {
    token: loadToken(),
    ws: null,
    ready: false,
    lastSeen: 0,
    attempt: 0,
    outbox: [],
    nodes: {},
    mine: {},
    refs: 0,
    started: false,
    waiters: {}
  };

  var el = {
    messages: document.getElementById("messages"),
    status: document.getElementById("status"),
    notice: document.getElementById("notice"),
    composer: document.getElementById("composer"),
    text: document.getElementById("text"),
    send: document.getElementById("send"),
    photo: document.getElementById("photo-input"),
    attach: document.getElementById("attach"),
    menu: document.getElementById("menu"),
    askPhone: document.getElementById("ask-phone"),
    phoneLabel: document.getElementById("phone-label"),
    phoneInput: document.getElementById("phone-input"),
    phoneSend: document.getElementById("phone-send"),
    phoneCancel: document.getElementById("phone-cancel"),
    askLocation: document.getElementById("ask-location"),
    locationSend: document.getElementById("location-send"),
    locationCancel: document.getElementById("location-cancel")
  };

  // -- storage of the visitor token -----------------------------------------------------------------------------

  function loadToken() {
    try {
      var stored = window.localStorage.getItem(TOKEN_KEY);
      if (stored) { return stored; }
    } catch (e) { /* storage blocked: the cookie may still work */ }
    var match = document.cookie.match(new RegExp("(?:^|; )" + COOKIE + "=([^;]+)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function saveToken(token) {
    state.token = token;
    try { window.localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* ignore */ }
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + encodeURIComponent(token) + "; path=/chat; max-age=31536000; SameSite=Lax" + secure;
  }

  // -- the page's words ------------------------------------------------------------------------------------------

  function setup() {
    document.title = S.title || document.title;
    document.getElementById("title").textContent = S.assistant || "";
    el.text.placeholder = S.placeholder || "";
    el.text.setAttribute("aria-label", S.placeholder || "");
    el.send.textContent = S.send || "Send";
    el.attach.title = S.attach || "";
    el.photo.setAttribute("aria-label", S.attach || "");
    el.menu.textContent = S.menu || "Menu";
    el.phoneLabel.textContent = S.phone_label || "";
    el.phoneInput.placeholder = S.phone_label || "";
    if (config.embedded) { document.body.classList.add("embedded"); }
    var links = document.querySelectorAll("#lang-switch a");
    Array.prototype.forEach.call(links, function (link) {
      var code = link.getAttribute("data-lang");
      link.href = urlWithLang(code);
      if (code === lang) { link.classList.add("active"); link.setAttribute("aria-current", "true"); }
      link.addEventListener("click", function (event) {
        event.preventDefault();
        if (code === lang) { return; }
        switchLanguage(code);
      });
    });
    setStatus(S.connecting);
  }

  function urlWithLang(code) {
    var params = new URLSearchParams(location.search);
    params.set("lang", code);
    return location.pathname + "?" + params.toString();
  }

  function switchLanguage(code) {
    var done = function () { location.replace(urlWithLang(code)); };
    if (!state.ready) { done(); return; }
    var ref = send({type: "lang", lang: code});
    state.waiters[ref] = done;
    setTimeout(done, 1500);
  }

  function setStatus(text) { el.status.textContent = text || ""; }

  var noticeTimer = null;
  function notice(text) {
    el.notice.textContent = text;
    el.notice.classList.remove("hidden");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { el.notice.classList.add("hidden"); }, 7000);
  }

  // -- the socket ------------------------------------------------------------------------------------------------

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/chat/ws");
    state.ws = ws;
    ws.onopen = function () {
      state.attempt = 0;
      ws.send(JSON.stringify({type: "hello", token: state.token, last_seen: state.lastSeen, lang: lang}));
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function () {
      if (state.ws !== ws) { return; }
      state.ready = false;
      state.ws = null;
      setStatus(S.reconnecting);
      var delay = Math.min(10000, 500 * Math.pow(2, state.attempt)) * (0.75 + Math.random() / 2);
      state.attempt += 1;
      setTimeout(connect, delay);
    };
  }

  function send(frame) {
    state.refs += 1;
    frame.ref = "r" + state.refs;
    if (state.ready && state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify(frame));
    } else {
      state.outbox.push(frame);
    }
    return frame.ref;
  }

  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        welcome(frame);
        break;
      case "message":
        drawMessage(frame);
        scrollDown();
        break;
      case "mine":
        drawMine(frame);
        break;
      case "notice":
        notice(frame.text);
        break;
      case "error":
        if (frame.ref && state.mine[frame.ref]) { state.mine[frame.ref].classList.add("failed"); }
        notice(frame.text || "");
        break;
      case "ack":
        if (frame.ref && state.waiters[frame.ref]) { state.waiters[frame.ref](); delete state.waiters[frame.ref]; }
        break;
      default:
        break;
    }
  }

  function welcome(frame) {
    saveToken(frame.token);
    if (frame.lang && frame.lang !== lang && !config.explicitLang) {
      location.replace(urlWithLang(frame.lang));  // the visitor chose the bot's language before
      return;
    }
    var items = frame.items || [];
    items.forEach(function (item) {
      if (item.type === "message") { drawMessage(item); } else if (item.type === "mine") { drawMine(item); }
    });
    state.ready = true;
    setStatus(S.online);
    el.photo.disabled = false;
    var queued = state.outbox;
    state.outbox = [];
    queued.forEach(function (f) { state.ws.send(JSON.stringify(f)); });
    if (!state.started && state.lastSeen === 0 && !el.messages.children.length) {
      send({type: "start"});  // a first visit: the bot says hello
    }
    state.started = true;
    scrollDown();
  }

  setInterval(function () {
    if (state.ready) { send({type: "ping", last_seen: state.lastSeen}); }
  }, 25000);

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.ready) { send({type: "ping", last_seen: state.lastSeen}); }
  });

  // -- drawing ---------------------------------------------------------------------------------------------------

  var TAGS = {B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s", CODE: "code",
              PRE: "pre", BLOCKQUOTE: "blockquote", A: "a", BR: "br", "TG-SPOILER": "span", SPAN: "span"};

  function safeHtml(html, into) {
    var doc = new DOMParser().parseFromString("<!doctype html><body>" + (html || ""), "text/html");
    copyNodes(doc.body, into);
    return into;
  }

  function copyNodes(from, to) {
    Array.prototype.forEach.call(from.childNodes, function (node) {
      if (node.nodeType === 3) { to.appendChild(document.createTextNode(node.nodeValue)); return; }
      if (node.nodeType !== 1) { return; }
      var tag = TAGS[node.tagName];
      var isSpoiler = node.tagName === "TG-SPOILER" || (node.tagName === "SPAN" && node.classList.contains("tg-spoiler"));
      if (!tag || (node.tagName === "SPAN" && !isSpoiler)) { copyNodes(node, to); return; }
      var made = document.createElement(tag);
      if (tag === "a") {
        var href = node.getAttribute("href") || "";
        if (!/^https?:\/\//i.test(href)) { copyNodes(node, to); return; }
        made.href = href;
        made.target = "_blank";
        made.rel = "noopener noreferrer nofollow";
      }
      if (isSpoiler) {
        made.className = "spoiler";
        made.addEventListener("click", function () { made.classList.add("shown"); });
      }
      copyNodes(node, made);
      to.appendChild(made);
    });
  }

  function scrollDown() { el.messages.scrollTop = el.messages.scrollHeight; }

  function photoNode(photo, single) {
    var box = document.createElement("div");
    if (single) { box.className = "single"; }
    if (photo.src) {
      var img = document.createElement("img");
      img.alt = S.photo || "";
      img.loading = "lazy";
      if (photo.private) {
        fetch(photo.src, {headers: {"X-Visitor-Token": state.token || ""}})
          .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.blob(); })
          .then(function (blob) { img.src = URL.createObjectURL(blob); })
          .catch(function () { box.replaceChildren(missing()); });
      } else {
        img.src = photo.src;
      }
      box.appendChild(img);
    } else if (photo.link) {
      var a = document.createElement("a");
      a.href = /^https?:\/\//i.test(photo.link) ? photo.link : "#";
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      a.textContent = "🖼 " + (S.photo || "Photo");
      box.appendChild(a);
    } else {
      box.appendChild(missing());
    }
    return box;
  }

  function missing() {
    var span = document.createElement("span");
    span.className = "missing";
    span.textContent = "🖼 " + (S.photo_unavailable || "");
    return span;
  }

  function choicesNode(lines, item) {
    var box = document.createElement("div");
    box.className = "choices";
    lines.forEach(function (line) {
      var row = document.createElement("div");
      row.className = "line";
      line.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.label;
        button.setAttribute("data-token", choice.token);
        button.addEventListener("click", function () { press(item, choice.token, button); });
        row.appendChild(button);
      });
      box.appendChild(row);
    });
    return box;
  }

  function press(item, token, button) {
    var buttons = item.querySelectorAll(".choices button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    setTimeout(function () { Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; }); }, 1500);
    button.classList.add("pressed");
    send({type: "press", token: token, message: Number(item.getAttribute("data-id"))});
  }

  function fill(item, frame) {
    var reply = frame.reply || {};
    item.replaceChildren();
    item.className = "msg " + (frame.from || "bot");
    if (frame.from === "agent" && frame.name) {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = frame.name;
      item.appendChild(who);
    }
    if (reply.kind === "photos") {
      var photos = document.createElement("div");
      photos.className = "photos";
      (reply.photos || []).forEach(function (p, i, all) { photos.appendChild(photoNode(p, all.length === 1)); });
      item.appendChild(photos);
    }
    if (reply.kind === "location") {
      var place = document.createElement("div");
      place.className = "text";
      place.textContent = "📍 " + reply.lat + ", " + reply.lon + " ";
      place.appendChild(mapLink(reply.lat, reply.lon));
      item.appendChild(place);
    }
    if (reply.html) {
      var text = document.createElement("div");
      text.className = "text";
      item.appendChild(safeHtml(reply.html, text));
    }
    if (reply.choices && reply.choices.length) { item.appendChild(choicesNode(reply.choices, item)); }
    if (reply.kind === "ask_phone") { askPhone(reply); }
    if (reply.kind === "ask_location") { askLocation(reply); }
    if (reply.close_ask) { closeAsks(); }
  }

  function mapLink(lat, lon) {
    var a = document.createElement("a");
    a.href = "https://www.openstreetmap.org/?mlat=" + encodeURIComponent(lat) + "&mlon=" + encodeURIComponent(lon);
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.textContent = S.map || "Map";
    return a;
  }

  function drawMessage(frame) {
    if (typeof frame.id !== "number") { return; }
    state.lastSeen = Math.max(state.lastSeen, frame.id);
    if (frame.edit && state.nodes[frame.edit]) {  // an edit in place, as Telegram does
      fill(state.nodes[frame.edit], frame);
      state.nodes[frame.id] = state.nodes[frame.edit];
      return;
    }
    if (state.nodes[frame.id]) { return; }
    var item = document.createElement("li");
    item.setAttribute("data-id", String(frame.id));
    fill(item, frame);
    state.nodes[frame.id] = item;
    el.messages.appendChild(item);
  }

  function drawMine(frame, ref) {
    var item = document.createElement("li");
    item.className = "msg mine";
    if (frame.photos && frame.photos.length) {
      var photos = document.createElement("div");
      photos.className = "photos";
      frame.photos.forEach(function (p) { photos.appendChild(photoNode(p, true)); });
      item.appendChild(photos);
    }
    if (frame.kind === "location" && frame.lat !== undefined && frame.lat !== null) {
      var place = document.createElement("div");
      place.className = "text";
      place.textContent = "📍 " + frame.lat + ", " + frame.lon;
      item.appendChild(place);
    }
    if (frame.text) {
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = frame.text;  // what the visitor typed is text, never markup
      item.appendChild(text);
    }
    if (ref) { state.mine[ref] = item; }
    el.messages.appendChild(item);
    scrollDown();
    return item;
  }

  // -- asking for a phone or a location (the web's share-contact and share-location elements) ---------------------

  function closeAsks() {
    el.askPhone.classList.add("hidden");
    el.askLocation.classList.add("hidden");
  }

  function askPhone(reply) {
    closeAsks();
    el.phoneSend.textContent = reply.button || S.send;
    el.phoneCancel.textContent = reply.cancel || S.cancel;
    el.phoneCancel.classList.toggle("hidden", !reply.cancel);
    el.askPhone.classList.remove("hidden");
    el.phoneInput.focus();
  }

  function askLocation(reply) {
    closeAsks();
    el.locationSend.textContent = reply.button || S.send;
    el.locationCancel.textContent = reply.cancel || S.cancel;
    el.locationCancel.classList.toggle("hidden", !reply.cancel);
    el.askLocation.classList.remove("hidden");
  }

  el.askPhone.addEventListener("submit", function (event) {
    event.preventDefault();
    var phone = el.phoneInput.value.trim();
    if (!/^\+?[0-9][0-9 ()\-]{4,30}$/.test(phone)) { notice(S.phone_invalid); return; }
    var ref = send({type: "phone", phone: phone});
    drawMine({text: phone}, ref);
    el.phoneInput.value = "";
    closeAsks();
  });

  function cancelAsk(button) {
    var text = button.textContent;
    closeAsks();
    var ref = send({type: "text", text: text});
    drawMine({text: text}, ref);
  }

  el.phoneCancel.addEventListener("click", function () { cancelAsk(el.phoneCancel); });
  el.locationCancel.addEventListener("click", function () { cancelAsk(el.locationCancel); });
  el.locationSend.addEventListener("click", function () {
    if (!navigator.geolocation) { notice(S.no_location); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = Math.round(position.coords.latitude * 1e6) / 1e6;
      var lon = Math.round(position.coords.longitude * 1e6) / 1e6;
      var ref = send({type: "location", lat: lat, lon: lon});
      drawMine({kind: "location", lat: lat, lon: lon}, ref);
      closeAsks();
    }, function () { notice(S.location_denied); }, {timeout: 15000});
  });

  // -- writing -----------------------------------------------------------------------------------------------

  function sendText() {
    var text = el.text.value.trim();
    if (!text) { return; }
    var ref = send({type: "text", text: text});
    drawMine({text: text}, ref);
    el.text.value = "";
    el.text.style.height = "";
    lastTyping = 0;  // the next words are a new "typing"
  }

  el.composer.addEventListener("submit", function (event) { event.preventDefault(); sendText(); });
  el.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendText(); }
  });
  // "typing": a hint for the agent (shown while a person answers), at most every TYPING_EVERY_MS while the
  // visitor types (protocol.TYPING_EVERY); sent only on an open connection, never queued: a late one is stale.
  var TYPING_EVERY_MS = 3000;
  var lastTyping = 0;
  function typing() {
    var now = Date.now();
    if (!el.text.value.trim() || now - lastTyping < TYPING_EVERY_MS) { return; }
    if (!(state.ready && state.ws && state.ws.readyState === 1)) { return; }
    lastTyping = now;
    state.ws.send(JSON.stringify({type: "typing"}));
  }

  el.text.addEventListener("input", function () {
    el.text.style.height = "auto";
    el.text.style.height = Math.min(el.text.scrollHeight, 128) + "px";
    typing();
  });
  el.menu.addEventListener("click", function () { send({type: "text", text: "/menu"}); });

  el.photo.disabled = true;
  el.photo.addEventListener("change", function () {
    var file = el.photo.files && el.photo.files[0];
    el.photo.value = "";
    if (!file) { return; }
    if (!/^image\/(jpeg|png|gif|webp)$/.test(file.type)) { notice(S.upload_type); return; }
    var caption = el.text.value.trim();
    el.text.value = "";
    var item = drawMine({text: caption, photos: [{src: null}]});
    var img = document.createElement("img");
    img.alt = S.photo || "";
    img.src = URL.createObjectURL(file);
    item.querySelector(".photos").replaceChildren(img);
    fetch("/chat/upload?lang=" + lang, {method: "POST", headers: {"X-Visitor-Token": state.token || ""}, body: file})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, status: response.status, body: body}; });
      })
      .then(function (result) {
        if (!result.ok) {
          item.classList.add("failed");
          var why = result.body && result.body.text ? result.body.text
            : result.status === 413 ? S.upload_size : result.status === 415 ? S.upload_type : S.upload_failed;
          notice(why);
          return;
        }
        var ref = send({type: "photo", upload: result.body.upload, caption: caption});
        state.mine[ref] = item;
      })
      .catch(function () { item.classList.add("failed"); notice(S.upload_failed); });
  });

  setup();
  connect();
}());
