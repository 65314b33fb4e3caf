// signin.js is the page shown instead of the map while the browser has no
// valid session: it posts the token to POST /api/v1/session, which keeps it
// in an HttpOnly cookie, and loads the map. Chinese by default, English on
// request (the same "sanse.lang" choice as the map).
//
// The server shows this page at the address that was asked for (a link in a
// notification, /?alert=…), so the map that follows opens what the link
// names. The session cookie is SameSite=Strict: a link followed from another
// site (a mail or chat client in the browser) arrives without it, and this
// page is shown to a browser that is signed in. The page asks the server
// (GET /api/v1/session, same-site, so with the cookie) and, signed in, loads
// the address again from here, which sends the cookie.
(function () {
  "use strict";
  var words = {
    zh: { title: "校园安防三色预警图", label: "访问令牌", hint: "请输入管理员发放的令牌（sanse token create）。",
      submit: "登录", other: "English", otherLang: "en", failed: "登录失败：", network: "无法连接服务器" },
    en: { title: "Campus safety warning map", label: "Access token", hint: "Enter the token your administrator gave you (sanse token create).",
      submit: "Sign in", other: "中文", otherLang: "zh-CN", failed: "Sign-in failed: ", network: "Cannot reach the server" },
  };
  function lang() {
    try { return localStorage.getItem("sanse.lang") === "en" ? "en" : "zh"; } catch (e) { return "zh"; }
  }
  function apply() {
    var w = words[lang()];
    document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = w[el.getAttribute("data-t")]; });
    var b = document.getElementById("lang");
    b.textContent = w.other;
    b.lang = w.otherLang;
  }
  document.getElementById("lang").addEventListener("click", function () {
    try { localStorage.setItem("sanse.lang", lang() === "en" ? "zh" : "en"); } catch (e) { /* storage off */ }
    apply();
  });
  // again loads the address the page was asked at, as a navigation of this
  // site's own (a reload would repeat the cross-site navigation).
  function again() {
    location.replace(location.pathname + location.search + location.hash);
  }

  // signedInAlready checks, once per address and minute, whether the
  // browser has a session after all; loading the address again cannot
  // then loop.
  function signedInAlready() {
    var key = "sanse.signin.again";
    var mark = location.href;
    try {
      var last = JSON.parse(sessionStorage.getItem(key) || "null");
      if (last && last.href === mark && Date.now() - last.at < 60000) return;
      sessionStorage.setItem(key, JSON.stringify({ href: mark, at: Date.now() }));
    } catch (e) {
      return; // without storage, no guard against a loop: ask for the token
    }
    fetch("/api/v1/session", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (res) { if (res.ok) again(); })
      .catch(function () { /* the form stays */ });
  }

  document.getElementById("signin").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var err = document.getElementById("error");
    err.hidden = true;
    fetch("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token: document.getElementById("token").value.trim() }),
    }).then(function (res) {
      if (res.ok) {
        again();
        return;
      }
      return res.json().catch(function () { return {}; }).then(function (body) {
        err.textContent = words[lang()].failed + (body.error || res.status);
        err.hidden = false;
      });
    }).catch(function () {
      err.textContent = words[lang()].network;
      err.hidden = false;
    });
  });
  apply();
  signedInAlready();
})();
