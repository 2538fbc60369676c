/* Draw every plotly figure of the page from its JSON data block (no inline script: CSP). */
(function () {
  "use strict";
  function draw() {
    if (typeof window.Plotly === "undefined") { return; }
    var nodes = document.querySelectorAll("[data-plotly-figure]");
    Array.prototype.forEach.call(nodes, function (node) {
      var source = document.getElementById(node.getAttribute("data-plotly-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(node, figure.data || [], figure.layout || {},
        {displaylogo: false, displayModeBar: false, responsive: true, showLink: false, showSendToCloud: false});
      // The figure is one image for assistive technologies: its container has role="img" and the
      // alternative text; plotly's SVG layers are hidden from them.
      Array.prototype.forEach.call(node.querySelectorAll("svg"), function (svg) {
        svg.setAttribute("aria-hidden", "true");
        svg.setAttribute("focusable", "false");
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
