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

  // A plain (non-htmx) form that moves money is sent once: a second click does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post")) {
      return; // htmx disables the button itself (hx-disabled-elt)
    }
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    if ((form.method || "").toLowerCase() === "post") {
      form.dataset.sent = "1";
    }
  });

  // A large statement file: show how far its upload has gone.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("upload-progress");
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });

  // "Print" on a report: the browser's print dialog, with the report's print layout.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });

  // "Copy" beside a one-time link: to the clipboard where the browser allows it, selected otherwise.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var field = document.querySelector(button.dataset.copy);
    if (!field) {
      return;
    }
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
      });
    }
  });

  // A one-time link shown to copy: select it all on focus.
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("copy-field")) {
      event.target.select();
    }
  });
})();
