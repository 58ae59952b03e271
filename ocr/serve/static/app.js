// The ocr web page: send a file to POST /v1/read, draw the words over the image, show the text.
"use strict";
const $ = (id) => document.getElementById(id);
let lastJson = null;

async function loadModels() {
  const res = await fetch("/v1/models");
  if (!res.ok) return;
  const info = await res.json();
  for (const [task, id] of [["detection", "det"], ["recognition", "rec"]]) {
    for (const name of info[task]) {
      const opt = new Option(name, name, false, name === info.default[task]);
      $(id).add(opt);
    }
  }
  $("det-size").placeholder = `${info.det_size} (default)`;
}

function status(message, isError) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

async function readFile(file) {
  status(`Reading ${file.name}…`);
  $("result").hidden = true;
  const form = new FormData();
  form.append("files", file, file.name);
  form.append("words", "true");
  form.append("det", $("det").value);
  form.append("rec", $("rec").value);
  if ($("det-size").value) form.append("det_size", $("det-size").value);
  const started = performance.now();
  let res;
  try {
    res = await fetch("/v1/read", { method: "POST", body: form });
  } catch (e) {
    return status(`${file.name}: the service did not answer (${e})`, true);
  }
  const body = await res.json().catch(() => ({ detail: res.statusText }));
  if (!res.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    return status(`${res.status}: ${detail}`, true);
  }
  lastJson = body;
  const page = body[0];
  if (page.error) return status(page.error, true);
  await show(file, page);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const more = body.length > 1 ? ` (page 1 of ${body.length} shown; all pages in the text and JSON)` : "";
  status(`${file.name}: ${page.lines.length} lines in ${seconds} s${more}`);
  if (body.length > 1) $("text").textContent = body.map(pageText).join("\n\n");
}

function isPdf(file) {
  return file.type === "application/pdf" || /\.pdf$/i.test(file.name);
}

function pageText(page) {
  return page.error || page.lines.map((l) => l.text).filter(Boolean).join("\n");
}

function show(file, page) {
  return new Promise((resolve) => {
    const img = $("image");
    img.onload = () => {
      draw(page, isPdf(file));
      $("result").hidden = false;
      resolve();
    };
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    // A PDF page is not an image the browser shows: its words are written at their places instead.
    img.src = isPdf(file) ? blankPage(page) : URL.createObjectURL(file);
  });
}

function blankPage(page) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${page.width}" height="${page.height}">` +
    `<rect width="100%" height="100%" fill="white"/></svg>`;
  return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
}

function draw(page, writeWords) {
  const svg = $("overlay");
  svg.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  svg.replaceChildren();
  for (const line of page.lines) {
    for (const word of line.words || [line]) {
      const poly = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
      poly.setAttribute("points", word.polygon.map((p) => p.join(",")).join(" "));
      poly.dataset.text = word.text;
      poly.dataset.score = word.score.toFixed(3);
      poly.classList.add("word");
      poly.addEventListener("mouseenter", (e) => tip(e, poly));
      poly.addEventListener("mousemove", (e) => tip(e, poly));
      poly.addEventListener("mouseleave", () => { $("tip").hidden = true; });
      svg.appendChild(poly);
      if (writeWords) svg.appendChild(wordText(word));
    }
  }
  $("text").textContent = pageText(page);
}

function wordText(word) {
  const xs = word.polygon.map((p) => p[0]), ys = word.polygon.map((p) => p[1]);
  const top = Math.min(...ys), bottom = Math.max(...ys);
  const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
  text.setAttribute("x", Math.min(...xs));
  text.setAttribute("y", bottom - 0.2 * (bottom - top));
  text.setAttribute("font-size", 0.8 * (bottom - top));
  text.setAttribute("textLength", Math.max(...xs) - Math.min(...xs));
  text.setAttribute("lengthAdjust", "spacingAndGlyphs");
  text.classList.add("pdf-word");
  text.textContent = word.text;
  return text;
}

function tip(event, poly) {
  const box = $("view").getBoundingClientRect();
  const t = $("tip");
  t.textContent = `${poly.dataset.text}   ${poly.dataset.score}`;
  t.style.left = `${event.clientX - box.left + 12}px`;
  t.style.top = `${event.clientY - box.top + 12}px`;
  t.hidden = false;
}

async function copyText() {
  const text = $("text").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  status("Text copied");
}

function downloadJson() {
  if (!lastJson) return;
  const blob = new Blob([JSON.stringify(lastJson, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = (lastJson[0].image || "page").replace(/\.[^.]*$/, "") + ".json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) readFile(e.dataTransfer.files[0]);
});
$("file").addEventListener("change", () => { if ($("file").files.length) readFile($("file").files[0]); });
$("copy").addEventListener("click", copyText);
$("download").addEventListener("click", downloadJson);
loadModels();
