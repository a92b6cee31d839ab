// mockline dashboard: live refresh over Server-Sent Events, and actions that call the control plane.
// Hand-written, no build step, no library; works offline.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var statusLine = document.getElementById("status");
  var liveBox = document.getElementById("live");
  var pending = null;
  var lastRefresh = 0;
  var MIN_GAP = 700; // ms between two refreshes of the page's content

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = "status" + (isError ? " status-error" : " status-ok");
  }

  function typing() {
    var el = document.activeElement;
    return el && main.contains(el) && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }

  function openDetails() {
    return Array.prototype.map.call(main.querySelectorAll("details[open]"), function (d) {
      var holder = d.closest("[data-request]");
      return holder ? holder.getAttribute("data-request") : null;
    });
  }

  function refresh() {
    pending = null;
    if (typing() || !liveBox.checked) { return; }
    lastRefresh = Date.now();
    var keep = openDetails();
    fetch(location.href, { headers: { "x-dashboard-partial": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (typing()) { return; }
        main.innerHTML = html;
        keep.forEach(function (id) {
          var d = id && main.querySelector('[data-request="' + id + '"] details');
          if (d) { d.open = true; }
        });
        main.dispatchEvent(new CustomEvent("refreshed"));
      })
      .catch(function () { /* the next event tries again */ });
  }

  function schedule() {
    if (pending) { return; }
    var wait = Math.max(150, MIN_GAP - (Date.now() - lastRefresh));
    pending = setTimeout(refresh, wait);
  }

  function wanted() {
    var live = main.getAttribute("data-live") || "";
    return live ? live.split(",") : [];
  }

  function showClock(data) {
    var now = document.querySelector("[data-clock-now]");
    var mode = document.querySelector("[data-clock-mode]");
    if (now && data.now) { now.textContent = data.now; }
    if (mode && data.mode) { mode.textContent = data.mode + (data.paused ? ", paused" : ""); }
  }

  // The stream is closed when the page is left: a page the browser keeps for "back" would otherwise
  // hold its connection open, and after six of them (the browser's limit per host) the next page waits.
  var source = null;
  function listen() {
    if (!window.EventSource || source) { return; }
    source = new EventSource("/dashboard/events");
    ["request", "delivery", "call", "agent", "clock", "dropped"].forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        if (kind === "clock") {
          try { showClock(JSON.parse(event.data)); } catch (e) { /* ignore */ }
        }
        if (kind === "dropped" || wanted().indexOf(kind) >= 0) { schedule(); }
      });
    });
    source.onopen = function () { document.body.classList.add("connected"); };
    source.onerror = function () { document.body.classList.remove("connected"); };
  }
  listen();
  window.addEventListener("pagehide", function () {
    if (source) { source.close(); source = null; }
    document.body.classList.remove("connected");
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { listen(); schedule(); }  // back from the browser's cache: catch up
  });
  liveBox.addEventListener("change", function () { if (liveBox.checked) { schedule(); } });

  function call(method, url, body) {
    var headers = { "accept": "application/json" };
    if (body !== undefined) { headers["content-type"] = "application/json"; }
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        if (!r.ok) {
          var why = data && (data.detail || data.message || data.title) || r.status;
          throw new Error(r.status + ": " + why);
        }
        return data;
      });
    });
  }

  function describe(method, url, data) {
    if (data && data.state) { return "Delivery #" + data.id + " is " + data.state + "."; }
    if (data && data.retried) { return data.count + " deliveries retried."; }
    if (data && data.agent) { return "Agent " + data.agent.agent_id + " is " + data.agent.status + (data.deliveries && data.deliveries.length ? "; " + data.deliveries.length + " event(s) to send." : "."); }
    if (data && data.now) { return "Clock: " + data.now + (data.ran !== undefined ? " (" + data.ran + " jobs ran)" : "") + "."; }
    if (data && data.faults) { return data.faults.length + " fault rule(s) in force."; }
    return method + " " + url + " done.";
  }

  function act(spec, body, confirmText) {
    if (confirmText && !window.confirm(confirmText)) { return; }
    var space = spec.indexOf(" ");
    var method = spec.slice(0, space), url = spec.slice(space + 1);
    say("Working…");
    call(method, url, body).then(function (data) {
      say(describe(method, url, data));
      if (data && data.now) { showClock(data); }
      refresh();
    }, function (err) { say(err.message, true); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !main.contains(button) && !button.closest("header")) { return; }
    if (button.hasAttribute("data-action") && button.type !== "submit") {
      var raw = button.getAttribute("data-body");
      act(button.getAttribute("data-action"), raw ? JSON.parse(raw) : undefined, button.getAttribute("data-confirm"));
    } else if (button.hasAttribute("data-copy")) {
      copy(document.querySelector(button.getAttribute("data-copy")), button);
    } else if (button.hasAttribute("data-add-row")) {
      var tbody = main.querySelector("[data-faults] tbody");
      tbody.appendChild(document.getElementById("fault-row").content.cloneNode(true));
      tbody.lastElementChild.querySelector("input").focus();
    } else if (button.hasAttribute("data-remove-row")) {
      button.closest("tr").remove();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-action")) {
      event.preventDefault();
      var field = form.getAttribute("data-field");
      var body = {};
      body[field] = Number(form.elements[field].value);
      act(form.getAttribute("data-action"), body);
    } else if (form.hasAttribute("data-faults")) {
      event.preventDefault();
      var rules = Array.prototype.map.call(form.querySelectorAll("tr[data-fault]"), function (row) {
        var get = function (n) { return row.querySelector('[name="' + n + '"]').value; };
        return {
          api: get("api") || "*", operationId: get("operationId") || "*",
          error_rate: Number(get("error_rate") || 0), status: Number(get("status") || 500),
          latency_ms: Number(get("latency_ms") || 0)
        };
      });
      act("PUT /__admin/faults", { faults: rules });
    }
  });

  function copy(source, button) {
    var text = source ? source.textContent : "";
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "copy-buffer";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      return ok;
    }
    var done = function (ok) {
      button.setAttribute("data-copied", text);
      say(ok ? "Copied the curl command." : "The browser refused to copy: select the curl command above and copy it.", !ok);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback()); });
    } else {
      done(fallback());
    }
  }
})();
