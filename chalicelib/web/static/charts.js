// Day charts for the insight views (an agent's, in My agents, and the operator's page):
// hand-drawn SVG bars, built node by node, drawn at the width they are shown at so their
// words stay readable on a phone. Each chart has a caption that sums it up and a
// visually hidden table of its numbers, for screen readers; the SVG itself is hidden
// from them. Colours are app.css's variables, so charts follow the light or dark theme.

import { element } from "./icons.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 200;
const MARGIN = { top: 22, right: 10, bottom: 34, left: 46 };
const NUMBER = new Intl.NumberFormat();
const COMPACT = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
export const PERIODS = [7, 30, 90];

function svg(tag, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

/** "Dec 7" for a UTC day "2026-12-07". */
export function dayLabel(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString([], {
    month: "short", day: "numeric", timeZone: "UTC",
  });
}

/** A round top for the y axis: 1, 2 or 5 times a power of ten, at least `value`, and at
 * least 2, so that the middle tick of a count is a whole number. */
function niceMax(value) {
  if (value <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= value);
}

function draw(chart, width) {
  const { days, series, limit, unit, stacked } = chart;
  const plot = { width: Math.max(width - MARGIN.left - MARGIN.right, 10), height: HEIGHT - MARGIN.top - MARGIN.bottom };
  const totals = days.map((day) => series.reduce((sum, each) => sum + each.value(day), 0));
  const highest = Math.max(...(stacked ? totals : series.flatMap((each) => days.map(each.value))), 0);
  const top = niceMax(Math.max(highest, limit || 0));
  const y = (value) => MARGIN.top + plot.height - (value / top) * plot.height;
  const root = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, "aria-hidden": "true" });
  root.append(svg("text", { x: 4, y: 12, class: "axis-title" }, unit));
  for (const tick of [0, top / 2, top]) {
    root.append(
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plot.width, y1: y(tick), y2: y(tick), class: tick ? "grid" : "axis" }),
      svg("text", { x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end", class: "tick" }, COMPACT.format(tick)),
    );
  }
  const slot = plot.width / days.length;
  const gap = slot > 6 ? Math.min(slot * 0.2, 6) : 0;
  const barWidth = stacked ? slot - gap : (slot - gap) / series.length;
  days.forEach((day, index) => {
    let base = 0;
    series.forEach((each, position) => {
      const value = each.value(day);
      if (!value) return;
      const x = MARGIN.left + index * slot + gap / 2 + (stacked ? 0 : position * barWidth);
      const from = stacked ? base : 0;
      // At least 2 px high: a day with a little is never drawn as a day with none.
      const height = Math.max(y(from) - y(from + value), 2);
      const bar = svg("rect", {
        x, y: y(from) - height, width: Math.max(barWidth, 1), height, class: `bar ${each.className}`,
      });
      bar.append(svg("title", {}, `${dayLabel(day.day)}: ${each.label} ${NUMBER.format(value)}`));
      root.append(bar);
      base += value;
    });
  });
  if (limit) {
    const at = y(limit);
    root.append(
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plot.width, y1: at, y2: at, class: "limit" }),
      svg("text", { x: MARGIN.left + plot.width, y: at - 4, "text-anchor": "end", class: "limit-label" }, `limit ${COMPACT.format(limit)}`),
    );
  }
  const labelled = days.length > 2 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : days.map((_, index) => index);
  for (const index of labelled) {
    const x = MARGIN.left + (index + 0.5) * slot;
    const anchor = index === 0 && days.length > 2 ? "start" : index === days.length - 1 && days.length > 2 ? "end" : "middle";
    const shift = anchor === "start" ? -slot / 2 : anchor === "end" ? slot / 2 : 0;
    root.append(svg("text", { x: x + shift, y: HEIGHT - MARGIN.bottom + 16, "text-anchor": anchor, class: "tick" }, dayLabel(days[index].day)));
  }
  root.append(svg("text", { x: MARGIN.left + plot.width / 2, y: HEIGHT - 4, "text-anchor": "middle", class: "axis-title" }, "day (UTC)"));
  return root;
}

function table(chart) {
  // In a wrapper: a table is never narrower than its cells, whatever its own width says.
  const hidden = element("div", "visually-hidden");
  const grid = element("table");
  hidden.append(grid);
  grid.append(element("caption", "", chart.title));
  const head = element("tr");
  head.append(element("th", "", "Day"), ...chart.series.map((each) => element("th", "", each.label)));
  grid.append(head);
  for (const day of chart.days) {
    const row = element("tr");
    const name = element("th", "", day.day);
    name.scope = "row";
    row.append(name, ...chart.series.map((each) => element("td", "", NUMBER.format(each.value(day)))));
    grid.append(row);
  }
  return hidden;
}

/**
 * A bar chart of a day series. `series`: [{label, className, value(day)}], grouped side
 * by side (or `stacked`); `unit` names the y axis; `limit` draws a dashed line there.
 */
export function dayChart({ title, unit, days, series, limit = null, stacked = false }) {
  const chart = { title, unit, days, series, limit, stacked };
  const figure = element("figure", "chart");
  const caption = element("figcaption");
  const sums = series.map((each) => `${each.label} ${NUMBER.format(days.reduce((sum, day) => sum + each.value(day), 0))}`);
  const limitText = limit ? ` · limit ${NUMBER.format(limit)} a day` : "";
  caption.append(element("strong", "", title), element("span", "hint", ` · ${days.length} days: ${sums.join(", ")}${limitText}`));
  const canvas = element("div", "chart-canvas");
  const legend = element("ul", "legend");
  legend.setAttribute("aria-hidden", "true");
  for (const each of series) {
    const entry = element("li");
    entry.append(element("span", `swatch ${each.className}`), each.label);
    legend.append(entry);
  }
  figure.append(caption, canvas, legend, table(chart));
  let drawnAt = 0;
  new ResizeObserver(() => {
    const width = Math.floor(canvas.clientWidth);
    if (!width || width === drawnAt) return;
    drawnAt = width;
    canvas.replaceChildren(draw(chart, width));
  }).observe(canvas);
  return figure;
}

/** The charts both views share: messages and sessions, tokens (against `tokenLimit`),
 * and thumbs up and down, per day. */
export function usageCharts(days, tokenLimit = null) {
  return [
    dayChart({
      title: "Messages and sessions per day", unit: "count", days,
      series: [
        { label: "Messages", className: "series-messages", value: (day) => day.messages },
        { label: "Sessions", className: "series-sessions", value: (day) => day.sessions },
      ],
    }),
    dayChart({
      title: "Tokens per day", unit: "tokens", days, limit: tokenLimit,
      series: [{ label: "Tokens", className: "series-tokens", value: (day) => day.tokens.total }],
    }),
    dayChart({
      title: "Ratings per day", unit: "ratings", days, stacked: true,
      series: [
        { label: "Thumbs up", className: "series-up", value: (day) => day.feedback.up },
        { label: "Thumbs down", className: "series-down", value: (day) => day.feedback.down },
      ],
    }),
  ];
}

/** A labelled 7/30/90-day picker; `onChange(days)` when another is chosen. */
export function periodPicker(id, chosen, onChange) {
  const wrap = element("div", "field period");
  const label = element("label", "", "Period");
  label.htmlFor = id;
  const select = element("select");
  select.id = id;
  for (const days of PERIODS) select.append(new Option(`Last ${days} days`, String(days), false, days === chosen));
  select.addEventListener("change", () => onChange(Number(select.value)));
  wrap.append(label, select);
  return wrap;
}

/** Used today against a limit (null: none; 0: none allowed), as a labelled meter. */
export function usedToday(id, text, used, limit) {
  const limited = limit !== null && limit !== undefined;
  const row = element("div", "used-today");
  const label = element("label", "", text);
  const figures = limited ? ` ${NUMBER.format(used)} of ${NUMBER.format(limit)}` : ` ${NUMBER.format(used)} (no limit)`;
  label.append(element("span", "hint", figures));
  row.append(label);
  if (limited && limit > 0) {
    label.htmlFor = id;
    const meter = element("meter");
    meter.id = id;
    meter.min = 0;
    meter.max = limit;
    meter.value = Math.min(used, limit);
    meter.high = limit * 0.8;
    meter.optimum = 0;
    row.append(meter);
  }
  return row;
}
