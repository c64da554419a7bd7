/* Supporter pages, progressively enhanced: the proof-of-work challenge solved in the browser (Web
   Crypto), the reader's own time for events, totals refreshed, and focus on errors. The pages work
   without it. */
(function () {
  "use strict";
  var doc = document;
  var lang = doc.documentElement.lang || "en";

  var summary = doc.getElementById("error-summary");
  if (summary) { summary.focus(); }

  doc.querySelectorAll("[data-local-time]").forEach(function (el) {
    try {
      var when = new Date(el.getAttribute("data-local-time"));
      var text = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" }).format(when);
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      el.textContent = text + " (" + zone + ")";
      el.hidden = false;
    } catch (e) { /* the event's own time stays */ }
  });

  var hex = function (buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  };

  async function solve(challenge) {
    var encoder = new TextEncoder();
    var started = Date.now();
    for (var n = 0; n <= challenge.maxnumber; n++) {
      var digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n));
      if (hex(digest) === challenge.challenge) {
        return btoa(JSON.stringify({
          algorithm: challenge.algorithm, challenge: challenge.challenge, number: n,
          salt: challenge.salt, signature: challenge.signature, took: Date.now() - started
        }));
      }
    }
    return "";
  }
  window.CampaignPages = { solve: solve };

  doc.querySelectorAll("form[data-action-form]").forEach(function (form) {
    var solved = false;
    form.addEventListener("submit", function (event) {
      if (solved || !window.crypto || !crypto.subtle) { return; }
      event.preventDefault();
      var submitter = event.submitter || null;
      var status = form.querySelector("[data-form-status]");
      if (submitter) { submitter.disabled = true; }
      fetch("/v1/public/challenge", { headers: { accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (challenge) { return challenge ? solve(challenge) : ""; })
        .catch(function () { return ""; })
        .then(function (payload) {
          form.querySelector("input[name=altcha]").value = payload;
          solved = true;
          if (submitter) { submitter.disabled = false; }
          if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
          if (status) { status.textContent = ""; }
        });
    });
  });

  var progress = doc.querySelector(".progress[data-ref]");
  if (progress && window.fetch) {
    var ref = progress.getAttribute("data-ref");
    var number = new Intl.NumberFormat(lang);
    var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
    var refresh = function () {
      if (doc.hidden) { return; }
      fetch("/v1/public/links/" + encodeURIComponent(ref), { headers: { accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (view) {
          if (!view || !view.goal) { return; }
          progress.querySelector("[data-total]").textContent = number.format(view.goal.value);
          progress.querySelector("[data-percent]").textContent = percent.format(view.goal.percent / 100);
          progress.querySelector("[data-progress]").value = Math.min(100, view.goal.percent);
        })
        .catch(function () { /* try again later */ });
    };
    setInterval(refresh, 30000);
    doc.addEventListener("visibilitychange", refresh);
  }
})();
