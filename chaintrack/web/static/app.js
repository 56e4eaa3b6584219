// chaintrack pages: draw the server-built charts; nothing else needs script.
(function () {
  function draw(root) {
    if (!window.echarts) return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(el.dataset.chart));
      window.addEventListener("resize", function () { chart.resize(); });
      window.addEventListener("beforeprint", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
  // Map picture: mark the selected node.
  document.addEventListener("click", function (e) {
    var node = e.target.closest && e.target.closest(".node");
    if (!node) return;
    document.querySelectorAll(".node[aria-pressed]").forEach(function (n) {
      n.setAttribute("aria-pressed", "false");
    });
    node.setAttribute("aria-pressed", "true");
  });
})();
