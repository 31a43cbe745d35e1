/* Draws the admin dashboard's charts from the figures the page carries as JSON
 * (#dashboard-data); each chart's numbers are also in the table under it. */
(function () {
  "use strict";
  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var palette = ["#417690", "#79aec8", "#ba2121", "#5b8a3a", "#c9a227", "#7a4f9a"];
    var datasets = [];
    data.series.forEach(function (line, n) {
      datasets.push({ type: "bar", label: "Orders (" + line.currency + ")", data: line.orders,
        backgroundColor: palette[(2 * n) % palette.length], yAxisID: "orders" });
      datasets.push({ type: "line", label: "Revenue (" + line.currency + ")", data: line.revenue,
        borderColor: palette[(2 * n + 1) % palette.length], backgroundColor: palette[(2 * n + 1) % palette.length],
        yAxisID: "revenue", tension: 0.2, pointRadius: 0 });
    });
    var quiet = { animation: false, responsive: true, maintainAspectRatio: false };
    new Chart(document.getElementById("chart-per-day"), {
      data: { labels: data.days, datasets: datasets },
      options: Object.assign({}, quiet, { scales: {
        orders: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "orders" } },
        revenue: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
          title: { display: true, text: "revenue" } } } })
    });
    new Chart(document.getElementById("chart-status"), {
      type: "bar",
      data: { labels: data.statuses, datasets: [{ label: "Orders", data: data.status_counts, backgroundColor: "#417690" }] },
      options: Object.assign({}, quiet, { indexAxis: "y", plugins: { legend: { display: false } } })
    });
    new Chart(document.getElementById("chart-products"), {
      type: "bar",
      data: { labels: data.products, datasets: [{ label: "Units", data: data.product_units, backgroundColor: "#79aec8" }] },
      options: Object.assign({}, quiet, { plugins: { legend: { display: false } } })
    });
    document.getElementById("dashboard").setAttribute("data-charts", "drawn");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
