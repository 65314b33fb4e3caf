// signin.js is the page shown instead of the map while the browser has no
// valid session: it posts the token to POST /api/v1/session, which keeps it
// in an HttpOnly cookie, and loads the map. Chinese by default, English on
// request (the same "sanse.lang" choice as the map).
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
        location.reload();
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
})();
