// Page behaviour lives here, not inline, so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  // Every htmx request carries the CSRF token that Flask-WTF checks.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.content;
    }
  });

  // A one-time link shown to copy: select it all on focus.
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("copy-field")) {
      event.target.select();
    }
  });
})();
