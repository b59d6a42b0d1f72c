/* Homedesk chat widget: <script src="https://your-homedesk/widget.js" async></script> on a company page shows a chat
   bubble that opens the chat (/chat) in an iframe. Only sites listed in WEBCHAT_ORIGINS may show it: elsewhere the
   bubble says so instead (and the chat page itself refuses to be framed there: CSP frame-ancestors). Styles are set
   through the DOM, so the host page's Content-Security-Policy needs no 'unsafe-inline'. */
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/null;
  var script = document.currentScript;
  if (!CONFIG || !script || window.__homedeskChatWidget) { return; }
  window.__homedeskChatWidget = true;

  var base = new URL(script.src, location.href).origin;
  var here = location.origin.toLowerCase();
  var allowed = here === base.toLowerCase() || CONFIG.origins.indexOf(here) !== -1;
  var lang = (navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var S = CONFIG.strings[lang] || CONFIG.strings.en;

  function style(node, rules) {
    Object.keys(rules).forEach(function (name) { node.style[name] = rules[name]; });
    return node;
  }

  function build() {
    var bubble = style(document.createElement("button"), {
      position: "fixed", right: "16px", bottom: "16px", width: "56px", height: "56px", borderRadius: "50%",
      border: "0", background: "#1f5fbf", color: "#fff", fontSize: "26px", cursor: "pointer", zIndex: "2147483000",
      boxShadow: "0 2px 10px rgba(0,0,0,.25)"
    });
    bubble.type = "button";
    bubble.id = "homedesk-chat-bubble";
    bubble.setAttribute("aria-label", S.open_chat);
    bubble.setAttribute("aria-expanded", "false");
    bubble.textContent = "💬";

    var panel = style(document.createElement("div"), {
      position: "fixed", right: "16px", bottom: "84px", width: "min(380px, calc(100vw - 32px))",
      height: "min(620px, calc(100vh - 110px))", background: "#fff", borderRadius: "12px", overflow: "hidden",
      boxShadow: "0 4px 24px rgba(0,0,0,.25)", zIndex: "2147483000", display: "none"
    });
    panel.id = "homedesk-chat-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", S.title);

    var opened = false;
    bubble.addEventListener("click", function () {
      var show = panel.style.display === "none";
      panel.style.display = show ? "block" : "none";
      bubble.setAttribute("aria-expanded", show ? "true" : "false");
      bubble.setAttribute("aria-label", show ? S.close_chat : S.open_chat);
      bubble.textContent = show ? "✕" : "💬";
      if (!show || opened) { return; }
      opened = true;
      if (!allowed) {
        var refused = style(document.createElement("p"), {
          margin: "0", padding: "24px", font: "15px/1.5 system-ui, sans-serif", color: "#8a1c1c"
        });
        refused.id = "homedesk-chat-refused";
        refused.setAttribute("role", "alert");
        refused.textContent = S.not_allowed;
        panel.appendChild(refused);
        return;
      }
      var frame = style(document.createElement("iframe"), {width: "100%", height: "100%", border: "0"});
      frame.id = "homedesk-chat-frame";
      frame.title = S.title;
      frame.allow = "geolocation";
      frame.src = base + "/chat?embed=1&lang=" + lang;
      panel.appendChild(frame);
    });
    document.body.appendChild(panel);
    document.body.appendChild(bubble);
  }

  if (document.body) { build(); } else { document.addEventListener("DOMContentLoaded", build); }
}());
