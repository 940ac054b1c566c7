/* careclub charts: draws every chart the `chart` macro (web/templates/charts.html) put on the page.

Each <figure class="chart" data-chart> holds its spec in a <script type="application/json"> data block
(never run; the server escaped it for HTML) and a <table> of the same numbers. Apache ECharts
(web/static/vendor/echarts/) draws with its SVG renderer, which styles its nodes through the CSSOM only,
so the page's Content-Security-Policy (no inline style, no eval) holds. Once a chart is drawn the table
is kept for screen readers and for printing (web/static/css/charts.css); without script only the table shows.

The spec (built by src/careclub/web/charts.py):
  kind        "bar" | "line" | "pie"
  horizontal  bars along the y axis (long names)
  stack       stack the bar series
  categories  the x labels, or the pie's slices
  series      [{name, data: [number|null …], kind: "bar"|"line", dashed}]
  links       per category, a path on this site to open on click (or null)
  money       a currency code: the values are minor units (fen), shown as yuan
*/
(function () {
  "use strict";

  var echarts = window.echarts;
  var lang = (document.documentElement.lang || "en").toLowerCase();
  var locale = lang.indexOf("zh") === 0 ? "zh-CN" : "en";
  var COLORS = ["#0f766e", "#2563eb", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];

  function number(value) {
    return value == null ? "–" : Number(value).toLocaleString(locale);
  }

  function money(value) {
    if (value == null) return "–";
    return (value / 100).toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  // Axis labels: short, so a phone's narrow chart keeps them readable (12,345 → 1.2万 / 12K).
  function compact(value, isMoney) {
    var v = isMoney ? value / 100 : value;
    try {
      return new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(v);
    } catch (e) {
      return String(v);
    }
  }

  function sameSite(href) {
    return typeof href === "string" && href.charAt(0) === "/" && href.charAt(1) !== "/";
  }

  // The tooltip is built as elements (textContent, classes, CSSOM colour): ECharts' own HTML tooltip
  // markup carries style attributes, which the policy refuses, and a name someone typed stays text.
  function tooltip(spec, format) {
    return function (params) {
      var items = Array.isArray(params) ? params : [params];
      var box = document.createElement("div");
      box.className = "chart-tip";
      var head = document.createElement("div");
      head.className = "chart-tip-head";
      head.textContent = spec.kind === "pie" ? (spec.series[0] || {}).name || "" : items[0] ? items[0].name : "";
      box.appendChild(head);
      items.forEach(function (p) {
        var row = document.createElement("div");
        row.className = "chart-tip-row";
        var dot = document.createElement("span");
        dot.className = "chart-tip-dot";
        if (typeof p.color === "string") dot.style.backgroundColor = p.color;
        var name = document.createElement("span");
        name.textContent = spec.kind === "pie" ? p.name : p.seriesName;
        var value = document.createElement("strong");
        var v = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
        value.textContent = format(v) + (spec.kind === "pie" && p.percent != null ? " (" + p.percent + "%)" : "");
        row.appendChild(dot);
        row.appendChild(name);
        row.appendChild(value);
        box.appendChild(row);
      });
      return box;
    };
  }

  function option(spec) {
    var isMoney = !!spec.money;
    var format = isMoney ? money : number;
    var series = spec.series || [];
    var base = {
      animation: false,
      color: COLORS,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      // confine: kept inside the chart (a phone's edge), and no arrow (ECharts draws it as styled markup)
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis", confine: true, formatter: tooltip(spec, format) },
    };
    if (spec.kind === "pie") {
      var s = series[0] || { data: [] };
      base.legend = { bottom: 0, type: "scroll" };
      base.series = [{
        type: "pie", name: s.name, radius: ["38%", "64%"], center: ["50%", "44%"], avoidLabelOverlap: true,
        label: { formatter: function (p) { return p.name + "\n" + format(p.value); } },
        data: spec.categories.map(function (c, i) { return { name: c, value: s.data[i] }; }),
      }];
      return base;
    }
    var categoryAxis = { type: "category", data: spec.categories, axisTick: { alignWithLabel: true },
                         axisLabel: { hideOverlap: true } };
    var valueAxis = { type: "value", minInterval: isMoney ? 0 : 1,
                      axisLabel: { formatter: function (v) { return compact(v, isMoney); } } };
    if (spec.horizontal) {
      categoryAxis.inverse = true;
      categoryAxis.axisLabel.width = 110;
      categoryAxis.axisLabel.overflow = "truncate";
    }
    base.legend = series.length > 1 ? { top: 0, type: "scroll" } : undefined;
    base.grid = { left: 8, right: 16, top: series.length > 1 ? 36 : 16, bottom: 8, containLabel: true };
    base.xAxis = spec.horizontal ? valueAxis : categoryAxis;
    base.yAxis = spec.horizontal ? categoryAxis : valueAxis;
    base.series = series.map(function (s) {
      var kind = s.kind || spec.kind;
      var out = { type: kind, name: s.name, data: s.data };
      if (kind === "bar") {
        out.barMaxWidth = 28;
        if (spec.stack) out.stack = "all";
      } else {
        out.showSymbol = s.data.length <= 24;
        out.connectNulls = false;
        if (s.dashed) out.lineStyle = { type: "dashed" };
      }
      return out;
    });
    return base;
  }

  function draw(figure) {
    var block = figure.querySelector("script.chart-spec");
    var canvas = figure.querySelector(".chart-canvas");
    if (!block || !canvas) return;
    var spec;
    try {
      spec = JSON.parse(block.textContent);
    } catch (e) {
      return; // the table stays
    }
    if (spec.horizontal) {
      // a row per name, so long lists stay readable (CSSOM: allowed by the policy, unlike a style attribute)
      canvas.style.height = Math.max(160, 34 * spec.categories.length + 48) + "px";
    }
    var chart = echarts.init(canvas, null, { renderer: "svg", locale: locale === "zh-CN" ? "ZH" : "EN" });
    chart.setOption(option(spec));
    var links = spec.links || [];
    chart.on("click", function (p) {
      var href = links[p.dataIndex];
      if (sameSite(href)) window.location.assign(href);
    });
    figure.classList.add("chart-drawn");
    var toggle = figure.querySelector(".chart-toggle");
    if (toggle) {
      toggle.hidden = false;
      toggle.setAttribute("aria-expanded", "false");
      toggle.addEventListener("click", function () {
        var shown = figure.classList.toggle("chart-show-table");
        toggle.textContent = shown ? toggle.dataset.hide : toggle.dataset.show;
        toggle.setAttribute("aria-expanded", shown ? "true" : "false");
      });
    }
    if (links.some(sameSite)) figure.classList.add("chart-linked");
    if (window.ResizeObserver) {
      new ResizeObserver(function () { chart.resize(); }).observe(canvas);
    } else {
      window.addEventListener("resize", function () { chart.resize(); });
    }
  }

  function start() {
    if (!echarts) return; // the vendored file did not load: the tables say it all
    Array.prototype.forEach.call(document.querySelectorAll("figure.chart[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
