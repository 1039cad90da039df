// Passway connect page. Loaded from the page's own origin (the CSP allows no inline script).
// - moves focus to an error summary or a result heading, for keyboard and screen-reader users;
// - stops a second submit of a form while the first is on its way;
// - on success, posts the result to the window that opened this one (a popup), to the origins
//   the server listed, then goes on to the team's redirect URL when there is one.
(function () {
  "use strict";

  function start() {
    var focusTarget = document.querySelector("[data-focus]");
    if (focusTarget) {
      focusTarget.focus();
    }

    var forms = document.querySelectorAll("form[data-connect-form]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent") === "1") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sent", "1");
        var button = form.querySelector("button[type=submit]");
        if (button) {
          button.setAttribute("data-label", button.textContent);
          button.setAttribute("aria-busy", "true");
          button.textContent = "Connecting\u2026";
        }
      });
    });

    // Coming back to this page from the history: the form may be sent again.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        Array.prototype.forEach.call(forms, function (form) {
          form.removeAttribute("data-sent");
          var button = form.querySelector("button[data-label]");
          if (button) {
            button.textContent = button.getAttribute("data-label");
            button.removeAttribute("aria-busy");
          }
        });
      }
    });

    var main = document.getElementById("main");
    var raw = main ? main.getAttribute("data-connect-message") : null;
    if (!raw) {
      return;
    }
    var message = JSON.parse(raw);
    var origins = JSON.parse(main.getAttribute("data-connect-origins") || "[]");
    var opener = window.opener;
    if (opener && !opener.closed) {
      origins.forEach(function (origin) {
        try {
          opener.postMessage(message, origin);
        } catch (error) {
          // An origin the browser cannot parse: nothing to deliver there.
        }
      });
      var close = document.getElementById("close-window");
      if (close) {
        close.hidden = false;
        close.addEventListener("click", function () {
          window.close();
        });
      }
    }
    var redirect = main.getAttribute("data-connect-redirect");
    if (redirect) {
      window.location.replace(redirect);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
