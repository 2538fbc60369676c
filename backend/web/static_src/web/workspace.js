/* The reviewer's workspace: confirmation dialogs before irreversible actions, keyboard shortcuts
   for the answers, and htmx error handling. No inline script (CSP script-src 'self').

   Confirmation: a form with data-confirm="<dialog id>" is not sent until the person accepts in
   that <dialog>. The form's own "confirm" checkbox (what the server requires, and what a browser
   without JavaScript shows) is ticked by the dialog's accept button and hidden here.

   Shortcuts: in a region with data-shortcuts, the keys 1 to 9 answer the current question (the
   radio group holding the focus, else the first one still unanswered) with its 1st to 9th
   choice. Only without a modifier key (Ctrl, Alt, Meta: the browser's and the screen readers'
   keys stay theirs), never while the focus is in a text field, and they can be turned off (the
   choice is remembered on this device). */
(function () {
  "use strict";
  var STORE = "cgh.shortcuts";

  function shortcutsOn() {
    try { return window.localStorage.getItem(STORE) !== "off"; } catch (e) { return true; }
  }

  function groups(region) {
    return Array.prototype.filter.call(region.querySelectorAll("fieldset.field-radio"), function (g) {
      return g.querySelector("input[type=radio]") && !g.closest("[hidden]");
    });
  }

  function currentGroup(region) {
    var active = document.activeElement;
    if (active && active.type === "radio" && region.contains(active)) {
      return active.closest("fieldset");
    }
    var all = groups(region);
    for (var i = 0; i < all.length; i++) {
      if (!all[i].querySelector("input[type=radio]:checked")) { return all[i]; }
    }
    return null;
  }

  function markCurrent(region) {
    var current = shortcutsOn() ? currentGroup(region) : null;
    groups(region).forEach(function (g) { g.classList.toggle("shortcut-current", g === current); });
  }

  function setUp(root) {
    root.querySelectorAll("[data-confirm-field]").forEach(function (field) {
      // The dialog asks instead: the box is ticked by its accept button (the server still checks).
      field.hidden = true;
      field.querySelectorAll("input[required]").forEach(function (box) { box.required = false; });
    });
    root.querySelectorAll("[data-shortcuts]").forEach(function (region) {
      groups(region).forEach(function (g) {
        g.querySelectorAll("input[type=radio]").forEach(function (radio, i) {
          if (i > 8) { return; }
          var label = g.querySelector("label[for='" + radio.id + "']");
          if (label && !(label.previousElementSibling && label.previousElementSibling.tagName === "KBD")) {
            var kbd = document.createElement("kbd");  // beside the label, not in its name
            kbd.className = "shortcut-key";
            kbd.setAttribute("aria-hidden", "true");
            kbd.textContent = String(i + 1);
            label.parentNode.insertBefore(kbd, label);
          }
        });
      });
      var toggle = region.querySelector("[data-shortcuts-toggle]");
      if (toggle) {
        toggle.checked = shortcutsOn();
        toggle.closest("[data-shortcuts-help]").hidden = false;
      }
      region.classList.toggle("shortcuts-off", !shortcutsOn());
      markCurrent(region);
    });
    var focus = root.querySelector("[data-autofocus]");
    if (focus && root !== document) { focus.focus(); }
  }

  function isTextField(el) {
    if (!el) { return false; }
    if (el.isContentEditable) { return true; }
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") { return true; }
    if (tag !== "INPUT") { return false; }
    return ["radio", "checkbox", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) { return; }
    if (!/^[1-9]$/.test(event.key) || isTextField(event.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var region = document.querySelector("[data-shortcuts]");
    if (!region || !shortcutsOn()) { return; }
    var group = currentGroup(region);
    if (!group) { return; }
    var radio = group.querySelectorAll("input[type=radio]")[Number(event.key) - 1];
    if (!radio) { return; }
    event.preventDefault();
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var status = region.querySelector("[data-shortcuts-status]");
    var label = group.querySelector("label[for='" + radio.id + "']");
    if (status && label) { status.textContent = label.textContent.trim(); }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-shortcuts-toggle]")) {
      try { window.localStorage.setItem(STORE, target.checked ? "on" : "off"); } catch (e) { /* private mode */ }
    }
    var region = target.closest && target.closest("[data-shortcuts]");
    if (region) {
      region.classList.toggle("shortcuts-off", !shortcutsOn());
      markCurrent(region);
    }
  });

  document.addEventListener("focusin", function (event) {
    var region = event.target.closest && event.target.closest("[data-shortcuts]");
    if (region) { markCurrent(region); }
  });

  // Confirmation: runs in the capture phase, before htmx's own submit handler on the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialogId = form.getAttribute && form.getAttribute("data-confirm");
    if (!dialogId || form.dataset.confirmed === "yes") { return; }
    if (event.submitter && event.submitter.hasAttribute("data-no-confirm")) { return; }
    var dialog = document.getElementById(dialogId);
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    event.preventDefault();
    event.stopPropagation();
    dialog.submitter = event.submitter || null;
    dialog.form = form;
    dialog.showModal();
  }, true);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm-accept], [data-confirm-cancel]");
    if (!button) { return; }
    var dialog = button.closest("dialog");
    var form = dialog.form;
    var submitter = dialog.submitter;
    dialog.close();
    if (!button.hasAttribute("data-confirm-accept") || !form) {
      if (submitter) { submitter.focus(); }
      return;
    }
    var box = form.querySelector("input[type=checkbox][name=confirm]");
    if (box) { box.checked = true; }
    // The button the person chose (e.g. "and go to the next case") travels with the form.
    form.querySelectorAll("input[data-submitter-copy]").forEach(function (copy) { copy.remove(); });
    if (submitter && submitter.name) {
      var copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = submitter.name;
      copy.value = submitter.value;
      copy.setAttribute("data-submitter-copy", "");
      form.appendChild(copy);
    }
    form.dataset.confirmed = "yes";
    form.requestSubmit();
    form.dataset.confirmed = "";
  });

  // htmx swaps only 2xx answers by default: a form sent back with its errors (400) replaces the
  // workspace; any other refusal (403, 404, 409) replaces the page's main content with its page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 403) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      event.detail.target = document.querySelector("main");
      event.detail.swapOverride = "outerHTML";
      event.detail.selectOverride = "main";
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) { setUp(event.detail.target); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
}());
