// crmcore web: small progressive enhancement. Every page works without it.
(function () {
  "use strict";
  var FRAGMENT = "X-CRM-Fragment";

  function csrfToken() {
    var input = document.querySelector("input[name=_csrf]");
    return input ? input.value : "";
  }

  // <form data-live="BLOCK">: as the user types or picks, fetch the same page
  // with the form's values and swap in the named block (#BLOCK).
  function live(form) {
    var target = document.getElementById(form.dataset.live);
    if (!target) return;
    var timer = null, serial = 0;
    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      var url = (form.getAttribute("action") || location.pathname) + "?" + params.toString();
      var mine = ++serial;
      target.setAttribute("aria-busy", "true");
      fetch(url, { headers: (function () { var h = {}; h[FRAGMENT] = form.dataset.live; return h; })(), credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (mine !== serial) return;
          target.innerHTML = html;
          history.replaceState(null, "", url);
        })
        .catch(function () {})
        .then(function () { target.removeAttribute("aria-busy"); });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 50); });
    // a submit (of this form or any other) wins: no late refresh may swap the
    // page or rewrite the address under a navigation already under way
    document.addEventListener("submit", function () { clearTimeout(timer); serial++; }, true);
  }

  // <div data-poll="URL" data-block="BLOCK">: refresh every second until the
  // fragment says data-done (import progress).
  function poll(element) {
    function tick() {
      if (element.querySelector("[data-done]")) return;
      var headers = {}; headers[FRAGMENT] = element.dataset.block;
      fetch(element.dataset.poll, { headers: headers, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { element.innerHTML = html; setTimeout(tick, 1000); })
        .catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-live]").forEach(live);
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    var toggle = document.querySelector(".menu-toggle"), sidebar = document.getElementById("sidebar");
    if (toggle && sidebar) {
      toggle.addEventListener("click", function () {
        var open = sidebar.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
  });
  window.crm = { csrfToken: csrfToken };
})();
