// Hover details for the timeline: failure marks read their row of the
// run's details table (the marks are drawn in table order; the table is
// gzipped JSON in base64, inflated with DecompressionStream); every other
// element carries its text in data-tip.
(function () {
  "use strict";
  // The page's own cost, for benchmarks: the time to here is mostly
  // parsing the HTML and its SVG; then a forced layout.
  var parsed = performance.now();
  void document.body.offsetHeight;
  document.body.setAttribute("data-parse-ms", Math.round(parsed));
  document.body.setAttribute("data-layout-ms", Math.round(performance.now() - parsed));
  var tip = document.getElementById("tip");
  var data = {}, marks = new WeakMap(), writes = new WeakMap();

  function inflate(b64) {
    var bin = atob(b64.trim().replace(/-/g, "+").replace(/_/g, "/")), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).json();
  }

  var loads = Array.prototype.map.call(document.querySelectorAll("script.fdata"), function (s) {
    return inflate(s.textContent).then(function (d) { data[s.dataset.run] = d; });
  });
  document.querySelectorAll("svg.timeline").forEach(function (svg) {
    svg.querySelectorAll(".fails use").forEach(function (m, i) { marks.set(m, i); });
    svg.querySelectorAll(".writes use").forEach(function (m, i) { writes.set(m, i); });
  });

  function ms(v) { return v >= 1000 ? (v / 1000).toFixed(3) + "s" : v + "ms"; }
  function failure(svg, i) {
    var d = data[svg.dataset.run];
    if (!d) return "loading the details…";
    var r = d.f[i], s = d.s, lines = [];
    lines.push("failed request" + (s[r[10]] ? " " + s[r[10]] : ""));
    lines.push("sent at +" + (r[0] / 1000).toFixed(3) + "s, failed after " + ms(r[1]));
    lines.push("replica: " + (s[r[2]] || "none (no endpoint or refused)") + ", balancer node " + r[7] +
      (s[r[8]] ? ", " + s[r[8]] + " connection" : ""));
    lines.push("class: " + s[r[3]] + (r[5] ? " (status " + r[5] + ")" : ""));
    if (s[r[6]]) lines.push("error: " + s[r[6]]);
    if (s[r[9]]) lines.push("moment: " + s[r[9]]);
    lines.push("cause: " + s[r[4]]);
    if (d.c[s[r[4]]]) lines.push(d.c[s[r[4]]]);
    return lines.join("\n");
  }
  function write(svg, i) {
    var d = data[svg.dataset.run];
    if (!d) return "loading the details…";
    var r = d.w[i], s = d.s;
    var what = s[r[2]] === "lost" ? "acknowledged write lost: the client got 2xx, the store never committed it"
      : "write duplicated: committed " + r[4] + " times";
    return what + "\nrequest " + s[r[3]] + ", sent at +" + (r[0] / 1000).toFixed(3) + "s" +
      (s[r[1]] ? ", answered by " + s[r[1]] : "");
  }
  function show(e) {
    var t = e.target, text = null;
    if (marks.has(t)) {
      text = failure(t.closest("svg.timeline"), marks.get(t));
    } else if (writes.has(t)) {
      text = write(t.closest("svg.timeline"), writes.get(t));
    } else {
      var el = t.closest && t.closest("[data-tip]");
      if (el) text = el.getAttribute("data-tip");
    }
    if (text === null) { tip.style.display = "none"; return; }
    tip.textContent = text;
    tip.style.display = "block";
    var x = e.clientX + 14, y = e.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth) x = Math.max(0, e.clientX - w - 14);
    if (y + h > window.innerHeight) y = Math.max(0, e.clientY - h - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  document.addEventListener("mousemove", show);
  document.addEventListener("mouseleave", function () { tip.style.display = "none"; });

  Promise.all(loads).then(function () {
    // How many rows of details each run's marks can show (tests compare
    // it with the marks).
    document.querySelectorAll("svg.timeline").forEach(function (svg) {
      var d = data[svg.dataset.run];
      svg.setAttribute("data-details", d ? d.f.length : 0);
      svg.setAttribute("data-write-details", d ? d.w.length : 0);
    });
    // report.html#tip opens the first failure's details (screenshots, tests).
    if (location.hash === "#tip") {
      var first = document.querySelector(".fails use");
      if (first) {
        var b = first.getBoundingClientRect();
        show({ target: first, clientX: b.left, clientY: b.top });
      }
    }
  }, function (err) {
    document.body.setAttribute("data-details-error", String(err));
  });
})();
