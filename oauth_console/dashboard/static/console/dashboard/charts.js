// Draws the dashboard's charts from the JSON the page embeds (#dashboard-data).
"use strict";
(function () {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384"];
  const shortDays = data.days.map(function (day) { return day.slice(5); });
  const common = { responsive: true, animation: false, plugins: { legend: { position: "bottom" } } };

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  draw("chart-issued", {
    type: "bar",
    data: {
      labels: shortDays,
      datasets: data.issued.map(function (series, i) {
        return { label: series.label, data: series.data, backgroundColor: palette[i % palette.length] };
      }),
    },
    options: Object.assign({}, common, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }),
  });

  if (data.auth) {
    draw("chart-auth", {
      type: "line",
      data: {
        labels: shortDays,
        datasets: [
          { label: "success", data: data.auth.success, borderColor: "#198754", backgroundColor: "#198754" },
          { label: "failure", data: data.auth.failure, borderColor: "#dc3545", backgroundColor: "#dc3545" },
        ],
      },
      options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } }),
    });
  }

  draw("chart-top-clients", {
    type: "bar",
    data: {
      labels: data.top_clients.map(function (client) { return client.name; }),
      datasets: [{
        label: "active tokens",
        data: data.top_clients.map(function (client) { return client.active_tokens; }),
        backgroundColor: "#0d6efd",
      }],
    },
    options: Object.assign({}, common, { indexAxis: "y", plugins: { legend: { display: false } } }),
  });

  draw("chart-revocations", {
    type: "line",
    data: {
      labels: shortDays,
      datasets: [{ label: "revoked", data: data.revocations, borderColor: "#dc3545", backgroundColor: "#dc3545" }],
    },
    options: Object.assign({}, common, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }),
  });
  document.body.dataset.chartsReady = "1";
})();
