/* The campaign widget: <script src="https://CAMPAIGNS/widget.js" data-ref="LINK-REF" async></script>
   Renders the campaign's form into the host page (in a shadow root, styled by widget.css), solves the
   proof-of-work challenge with Web Crypto and posts to the public JSON API. Vanilla JavaScript. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src).origin;
  var ref = script.getAttribute("data-ref");
  var lang = (script.getAttribute("data-lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  var ENDPOINT = { petition: "signatures", letter: "letters", event: "rsvps", story_collection: "stories", share: "shares" };
  var uid = "cw" + Math.random().toString(36).slice(2, 8);
  var host = document.createElement("div");
  host.className = "campaign-widget";
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var T = {};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== null && attrs[k] !== false) { node.setAttribute(k, attrs[k] === true ? "" : attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function t(key) { return T[key] || key; }
  function json(url, options) {
    return fetch(url, options).then(function (r) {
      return r.text().then(function (body) { return { status: r.status, body: body ? JSON.parse(body) : {} }; });
    });
  }
  function field(name, label, type, required, value, multiline) {
    var id = uid + "-" + name;
    var input = el(multiline ? "textarea" : "input", { id: id, name: name, type: multiline ? null : type, required: required, "aria-required": required ? "true" : null, autocomplete: { first_name: "given-name", last_name: "family-name", email: "email" }[name] || null, rows: multiline ? "8" : null });
    if (value) { input.value = value; }
    var error = el("p", { class: "error", id: id + "-error", hidden: true });
    return el("div", { class: "field" }, [el("label", { for: id, text: label + (required ? "" : " " + t("(optional)")) }), error, input]);
  }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  async function solve(c) {
    var enc = new TextEncoder(), started = Date.now();
    for (var n = 0; n <= c.maxnumber; n++) {
      if (hex(await crypto.subtle.digest("SHA-256", enc.encode(c.salt + n))) === c.challenge) {
        return btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature, took: Date.now() - started }));
      }
    }
    return null;
  }

  function render(view) {
    var d = view.details || {}, kind = view.kind, goal = view.goal || {};
    var nf = new Intl.NumberFormat(lang);
    var wrap = el("section", { class: "widget", lang: view.language || lang, "aria-labelledby": uid + "-title" });
    wrap.appendChild(el("h2", { id: uid + "-title", text: view.title }));
    if (view.organization && view.organization.name) { wrap.appendChild(el("p", { class: "org", text: view.organization.name })); }
    wrap.appendChild(el("p", { text: view.summary }));
    wrap.appendChild(el("p", { class: "total", text: nf.format(goal.value || 0) + " / " + nf.format(goal.target || 0) }));
    wrap.appendChild(el("progress", { max: "100", value: String(Math.min(100, goal.percent || 0)), "aria-label": t("Progress") }));
    if (kind === "petition" && d.text) { wrap.appendChild(el("blockquote", { text: d.text })); }
    if (kind === "story_collection" && d.prompt) { wrap.appendChild(el("blockquote", { text: d.prompt })); }
    if (kind === "share" && d.message) { wrap.appendChild(el("blockquote", { text: d.message })); }
    if (kind === "event" && d.starts_at) {
      var when = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short", timeZone: d.time_zone }).format(new Date(d.starts_at));
      wrap.appendChild(el("p", { text: when + " (" + d.time_zone + ")" + (d.place ? " · " + d.place : "") }));
    }
    var status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    if (!view.accepts || !view.accepts.length) { wrap.appendChild(el("p", { text: t("This campaign is not taking part right now.") })); root.appendChild(wrap); return; }
    var form = el("form", { novalidate: true });
    form.appendChild(field("first_name", t("First name"), "text", true));
    form.appendChild(field("last_name", t("Last name"), "text", false));
    form.appendChild(field("email", t("E-mail address"), "email", true));
    if (kind === "letter" && d.allow_personalisation) {
      form.appendChild(field("subject", t("Subject"), "text", true, d.subject));
      form.appendChild(field("body", t("Your letter"), null, true, d.body_template, true));
    }
    if (kind === "story_collection") {
      form.appendChild(field("title", t("Title of your story"), "text", true));
      form.appendChild(field("body", t("Your story"), null, true, "", true));
      var names = el("fieldset", {}, [el("legend", { text: t("If your story is published, show") })]);
      [["full", t("my full name")], ["first_name", t("my first name only")], ["anonymous", t("no name (anonymous)")]].forEach(function (o) {
        var id = uid + "-nf-" + o[0];
        names.appendChild(el("div", { class: "choice" }, [el("input", { type: "radio", id: id, name: "name_form", value: o[0], checked: o[0] === "anonymous" }), el("label", { for: id, text: o[1] })]));
      });
      form.appendChild(names);
    }
    if (kind === "share") {
      var sid = uid + "-platform", select = el("select", { id: sid, name: "platform" });
      ["email", "bluesky", "mastodon", "x", "facebook", "linkedin", "whatsapp", "other"].forEach(function (p) { select.appendChild(el("option", { value: p, text: p })); });
      form.appendChild(el("div", { class: "field" }, [el("label", { for: sid, text: t("Where do you share it?") }), select]));
    }
    var consents = (view.consent_texts || []).filter(function (c) { return c.purpose !== "publish_story" || kind === "story_collection"; });
    if (consents.length) {
      var fs = el("fieldset", {}, [el("legend", { text: t("Your choices (each is optional)") })]);
      consents.forEach(function (c) {
        var id = uid + "-consent-" + c.purpose;
        fs.appendChild(el("div", { class: "choice" }, [el("input", { type: "checkbox", id: id, name: "consent", value: c.purpose, "data-version": c.version }), el("label", { for: id, text: c.text })]));
      });
      if (view.organization && view.organization.privacy_notice_url) {
        fs.appendChild(el("p", {}, [el("a", { href: view.organization.privacy_notice_url, target: "_blank", rel: "noopener", text: t("Privacy notice") })]));
      }
      form.appendChild(fs);
    }
    form.appendChild(el("div", { class: "hp" }, [el("label", { for: uid + "-website", text: "Website" }), el("input", { id: uid + "-website", name: "website", tabindex: "-1", autocomplete: "off" })]));
    var button = el("button", { type: "submit", text: t({ petition: "Sign the petition", letter: "Send the letter", event: "Reserve my place", story_collection: "Send my story", share: "Share it" }[kind]) });
    form.appendChild(button);
    form.appendChild(status);
    form.addEventListener("submit", function (event) { event.preventDefault(); send(view, form, button, status); });
    wrap.appendChild(form);
    root.appendChild(wrap);
  }

  function value(form, name) { var f = form.elements[name]; return f && f.value.trim() ? f.value.trim() : undefined; }

  function showErrors(form, errors) {
    var first = null;
    Array.prototype.forEach.call(form.querySelectorAll(".error"), function (p) { p.hidden = true; });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (i) { i.removeAttribute("aria-invalid"); i.removeAttribute("aria-describedby"); });
    errors.forEach(function (e) {
      var name = String(e.field || "").split(".").pop();
      var input = form.elements[name];
      var note = input && root.getElementById ? root.getElementById(uid + "-" + name + "-error") : null;
      if (!input || !note || !input.setAttribute) { return; }
      note.textContent = t("Please check this field.") + " " + (e.message || "");
      note.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      first = first || input;
    });
    if (first) { first.focus(); }
  }

  async function send(view, form, button, status) {
    button.disabled = true;
    status.textContent = t("Sending…");
    var body = { supporter: { first_name: value(form, "first_name"), last_name: value(form, "last_name"), email: value(form, "email") }, consents: {}, website: form.elements.website.value, language: view.language || lang };
    Array.prototype.forEach.call(form.querySelectorAll("input[name=consent]:checked"), function (c) { body.consents[c.value] = c.getAttribute("data-version"); });
    if (view.kind === "letter" && value(form, "body")) { body.subject = value(form, "subject"); body.body = value(form, "body"); }
    if (view.kind === "story_collection") { body.title = value(form, "title"); body.body = value(form, "body"); var nf = form.querySelector("input[name=name_form]:checked"); body.name_form = nf ? nf.value : "anonymous"; }
    if (view.kind === "share") { body.platform = value(form, "platform"); }
    try {
      if (view.challenge_required !== false) {
        var challenge = await json(base + "/v1/public/challenge");
        if (challenge.status === 200) { body.altcha = await solve(challenge.body); }
      }
      var key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
      var answer = await json(base + "/v1/public/links/" + encodeURIComponent(ref) + "/" + ENDPOINT[view.kind], { method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body: JSON.stringify(body) });
      if (answer.status === 201 || answer.status === 200 || answer.status === 202) {
        var pending = answer.status === 202 || answer.body.status === "pending_confirmation";
        var done = el("div", { class: "thanks", tabindex: "-1" }, [el("h3", { text: t("Thank you!") }), el("p", { role: "status", text: pending ? t("One more step: we have sent you an e-mail. Open the link in it and press the button to confirm. Until then your action is not counted.") : t("Your action is recorded.") })]);
        form.replaceWith(done);
        done.focus();
        return;
      }
      showErrors(form, answer.body.errors || []);
      status.textContent = answer.body.detail || t("Something in the form is not right. Please check it and try again.");
    } catch (e) {
      status.textContent = t("Something in the form is not right. Please check it and try again.");
    }
    button.disabled = false;
  }

  root.appendChild(el("link", { rel: "stylesheet", href: base + "/static/widget.css" }));
  Promise.all([
    json(base + "/widget/strings.json?lang=" + encodeURIComponent(lang)).catch(function () { return { body: {} }; }),
    json(base + "/v1/public/links/" + encodeURIComponent(ref) + "?lang=" + encodeURIComponent(lang))
  ]).then(function (r) {
    T = r[0].body || {};
    if (r[1].status !== 200) { root.appendChild(el("p", { role: "status", text: t("We could not find this page. The link may be wrong, or the campaign is no longer public.") })); return; }
    render(r[1].body);
  }).catch(function () { root.appendChild(el("p", { role: "status", text: "The campaign could not be loaded." })); });
})();
