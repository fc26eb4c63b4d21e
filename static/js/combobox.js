// The trust request form's client combobox (templates/bills/_request_form.html): htmx fills its listbox as the
// lawyer types; this moves through it with the arrow keys, chooses with Enter or a click, and then has htmx reload
// the form for that client (its matters and email). Without script the form's "Find client" button does the same.
(function () {
  "use strict";

  function parts(input) {
    var listbox = document.getElementById(input.getAttribute("aria-controls"));
    var options = listbox ? Array.prototype.slice.call(listbox.querySelectorAll('[role="option"]')) : [];
    return { listbox: listbox, options: options };
  }

  function open(input, isOpen) {
    var found = parts(input);
    if (found.listbox) {
      found.listbox.hidden = !isOpen || found.options.length === 0;
    }
    input.setAttribute("aria-expanded", found.listbox && !found.listbox.hidden ? "true" : "false");
    if (!isOpen) {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function activate(input, index) {
    var options = parts(input).options;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  function activeIndex(input) {
    var id = input.getAttribute("aria-activedescendant");
    return parts(input).options.findIndex(function (option) {
      return option.id === id;
    });
  }

  function choose(input, option) {
    var chosen = document.getElementById("contact_id");
    input.value = option.dataset.name;
    open(input, false);
    if (chosen) {
      chosen.value = option.dataset.contactId;
      chosen.dispatchEvent(new Event("change", { bubbles: true })); // htmx reloads the form for this client
    }
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox]")) {
      return;
    }
    var options = parts(input).options;
    var index = activeIndex(input);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!options.length) {
        return;
      }
      event.preventDefault();
      open(input, true);
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(input, index < 0 ? (step > 0 ? 0 : options.length - 1) : (index + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      // Enter chooses; it never saves the request from the client field.
      event.preventDefault();
      if (index >= 0) {
        choose(input, options[index]);
      } else if (options.length === 1) {
        choose(input, options[0]);
      }
    } else if (event.key === "Escape") {
      open(input, false);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-combobox]")) {
      var chosen = document.getElementById("contact_id");
      if (chosen) {
        chosen.value = ""; // another name typed: no client is chosen until one is picked
      }
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('#client-listbox [role="option"]');
    var input = document.querySelector("[data-combobox]");
    if (option && input) {
      choose(input, option);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var input = document.querySelector("[data-combobox]");
    if (!input || !target) {
      return;
    }
    if (target.id === "client-options" || (target.closest && target.closest("#client-options"))) {
      open(input, parts(input).options.length > 0);
      var options = document.getElementById("client-options");
      var status = document.getElementById("client-status");
      if (status && options) {
        status.textContent = options.dataset.status || "";
      }
    }
  });

  // After the form is reloaded for the chosen client, the next thing to choose is the matter.
  document.addEventListener("htmx:afterSettle", function (event) {
    var form = document.getElementById("request-form");
    if (form && event.detail.elt && event.detail.elt.id === "request-form") {
      var matter = document.getElementById("matter_id");
      if (matter) {
        matter.focus();
      }
    }
  });
})();
