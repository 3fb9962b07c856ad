// Draws the dashboard's charts from the JSON the page embeds (#dashboard-data).
"use strict";
(function () {
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384"];
  const shortDays = data.days.map(function (day) { return day.slice(5); });
  const common = { responsive: true, animation: false, plugins: { legend: { position: "bottom" } } };
  // Every chart counts things: whole numbers on the count axis, never 0.5 of a token.
  const countAxis = { beginAtZero: true, ticks: { precision: 0 } };
  // Chart.js skips day labels from the right when they crowd, so the last day (today, the one
  // an operator looks at first) could go unlabelled. Label every n-th day counted back from
  // the last one instead: today always has its label.
  const labelEvery = Math.max(1, Math.ceil(shortDays.length / 10));
  const dayAxis = {
    ticks: {
      autoSkip: false,
      maxRotation: 0,
      callback: function (value, index) {
        return (shortDays.length - 1 - index) % labelEvery === 0 ? shortDays[index] : "";
      },
    },
  };

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
    options: Object.assign({}, common, {
      scales: {
        x: Object.assign({ stacked: true }, dayAxis),
        y: Object.assign({ stacked: true }, countAxis),
      },
    }),
  });

  if (data.auth) {
    // Side-by-side bars, not two lines: on a quiet day both series are 0 and one line would
    // lie exactly on the other. Each bar keeps its own slot, and the failures are drawn pale
    // with a dark outline, so the two read apart without relying on red and green.
    draw("chart-auth", {
      type: "bar",
      data: {
        labels: shortDays,
        datasets: [
          { label: "success", data: data.auth.success, backgroundColor: "#198754" },
          {
            label: "failure",
            data: data.auth.failure,
            backgroundColor: "rgba(220, 53, 69, 0.35)",
            borderColor: "#b02a37",
            borderWidth: 1.5,
          },
        ],
      },
      options: Object.assign({}, common, {
        datasets: { bar: { grouped: true, categoryPercentage: 0.8, barPercentage: 0.9 } },
        scales: { x: Object.assign({ stacked: false }, dayAxis), y: Object.assign({ stacked: false }, countAxis) },
      }),
    });
  }

  if (data.top_clients.length) {
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
      options: Object.assign({}, common, {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: {
          x: countAxis,
          // A 100-character name would squeeze the bars to nothing: cut it, the tooltip and the
          // table below keep it whole.
          y: {
            ticks: {
              callback: function (value) {
                const name = this.getLabelForValue(value);
                return name.length > 24 ? name.slice(0, 23) + "…" : name;
              },
            },
          },
        },
      }),
    });
  }

  draw("chart-revocations", {
    type: "line",
    data: {
      labels: shortDays,
      datasets: [{ label: "revoked", data: data.revocations, borderColor: "#dc3545", backgroundColor: "#dc3545" }],
    },
    options: Object.assign({}, common, { plugins: { legend: { display: false } }, scales: { x: dayAxis, y: countAxis } }),
  });
  document.body.dataset.chartsReady = "1";
})();
