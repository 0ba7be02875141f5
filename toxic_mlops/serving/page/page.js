// The page to try the model. Every text shown is set with textContent or as a Text node, never
// as HTML: comments are untrusted input.
"use strict";

const DECIMALS = 3;

const form = document.getElementById("form");
const box = document.getElementById("comments");
const button = document.getElementById("score");
const status = document.getElementById("status");
const results = document.getElementById("results");
const modelLine = document.getElementById("model");
let thresholds = {};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function setStatus(message, isError) {
  status.textContent = message;
  status.className = isError ? "status error" : "status";
}

async function messageOf(response) {
  const body = await response.text();
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.message === "string") return parsed.message;
  } catch (_) {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`;
}

async function loadModel() {
  try {
    const response = await fetch("/model");
    if (!response.ok) throw new Error(await messageOf(response));
    const info = await response.json();
    thresholds = info.thresholds || {};
    const aliases = info.aliases.map((alias) => ` @${alias}`).join("");
    modelLine.replaceChildren(
      "Model ", el("strong", "name", info.name),
      " · version ", el("strong", "version", info.version),
      " · stage ", el("strong", "stage", info.stage), aliases,
    );
  } catch (error) {
    modelLine.className = "model error";
    modelLine.textContent = `No model information: ${error.message}`;
  }
}

function highlight(target, text, explanation) {
  const chars = Array.from(text); // the model's offsets count code points, as Array.from does
  const spans = explanation ? [...explanation.spans].sort((a, b) => a.start - b.start) : [];
  const parts = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue;
    parts.push(chars.slice(at, span.start).join(""));
    const mark = el("mark", null, chars.slice(span.start, span.end).join(""));
    mark.style.setProperty("--strength", (0.2 + 0.55 * span.score).toFixed(2));
    mark.title = `toxic span (score ${span.score.toFixed(2)})`;
    parts.push(mark);
    at = span.end;
  }
  parts.push(chars.slice(at).join(""));
  target.replaceChildren(...parts); // strings become Text nodes: nothing is parsed as HTML
}

function barRow(label, value, onSelect) {
  const row = el("div", "row");
  row.dataset.label = label;
  const threshold = thresholds[label];
  if (threshold !== undefined && value >= threshold) row.classList.add("over");
  const name = el("button", "label", label);
  name.type = "button";
  name.addEventListener("click", onSelect);
  const track = el("div", "track");
  const fill = el("div", "fill");
  fill.style.width = `${(100 * value).toFixed(2)}%`;
  track.append(fill);
  if (threshold !== undefined) {
    const tick = el("div", "tick");
    tick.style.left = `${(100 * threshold).toFixed(2)}%`;
    tick.title = `threshold ${threshold.toFixed(DECIMALS)}`;
    track.append(tick);
  }
  row.append(name, track, el("span", "score", value.toFixed(DECIMALS)));
  return row;
}

function card(text, prediction) {
  const { explanation, ...scores } = prediction;
  const labels = Object.keys(scores).sort((a, b) => scores[b] - scores[a]);
  const node = el("article", "card");
  const comment = el("p", "comment");
  const note = el("p", "note");
  const bars = el("div", "bars");
  node.append(comment, note, bars);
  const select = (label) => {
    highlight(comment, text, explanation);
    const threshold = thresholds[label];
    const under = threshold !== undefined && scores[label] < threshold;
    comment.classList.toggle("under", under); // a score under its threshold: muted highlights
    const found = explanation && explanation.spans.length > 0;
    const what = (under
      ? `${label} is under its threshold (${threshold.toFixed(DECIMALS)}). `
      : "") + (found ? "Highlighted: the toxic spans found." : "No toxic span found.");
    const cut = explanation && explanation.truncated ? " The model read only the start." : "";
    note.textContent = what + cut;
    for (const row of bars.children) {
      row.querySelector(".label").classList.toggle("selected", row.dataset.label === label);
    }
  };
  bars.append(...labels.map((label) => barRow(label, scores[label], () => select(label))));
  select(Object.keys(scores)[0]); // the model's first label (toxicity): the same on every card
  return node;
}

async function score(event) {
  event.preventDefault();
  const comments = box.value.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (comments.length === 0) {
    results.replaceChildren();
    setStatus("Type a comment first (one per line).", true);
    return;
  }
  button.disabled = true;
  setStatus(`Scoring ${comments.length} comment(s)…`, false);
  try {
    const response = await fetch("/invocations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: comments, params: { explain: true } }),
    });
    if (!response.ok) {
      results.replaceChildren();
      setStatus(`The model server refused: ${await messageOf(response)}`, true);
      return;
    }
    const { predictions } = await response.json();
    results.replaceChildren(...predictions.map((p, i) => card(comments[i], p)));
    setStatus(`${comments.length} comment(s) scored.`, false);
  } catch (error) {
    setStatus(`Could not reach the page server: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

form.addEventListener("submit", score);
box.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
loadModel();
