// The synced zoom viewer (studio/ui/compare/viewer.py). gr.HTML runs this once per mount as the body of a
// function of (element, trigger, props, server, upload, watch); props.value is
// {images: [{key, label, width, height, file: {url}}], flip: [keyA, keyB]} or null.
//
// Geometry is in device pixels, so the factor is exact on any screen: at factor F the largest image
// shows F device pixels per image pixel (1x = true 1:1) and every other image covers the same scene
// region at F * (largest width / its width), nearest neighbour (image-rendering: pixelated). All
// panels share one centre (cx, cy), in scene coordinates from 0 to 1.
const FACTORS = [1, 2, 4, 8];
const SIZES = [256, 320, 448, 576];
const OVERVIEW = 192;
const DRAG_THRESHOLD = 3;
const root = element.querySelector(".sv");
// a, b: the flip pair shown. pickA, pickB: what the user chose by hand (null until then); the pair follows the
// server's default (input, first output) as a run's outputs stream in, and a hand pick wherever its image is shown.
const state = {
  cx: 0.5,
  cy: 0.5,
  factor: 4,
  size: 320,
  a: null,
  b: null,
  pickA: null,
  pickB: null,
  showing: "a",
  images: [],
};
const panels = new Map(); // key -> {figure, view, img, caption, image}
let flip = null; // {figure, view, imgA, imgB, caption}

function make(tag, cls, parent) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}

function number(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
}

// ---- static frame ------------------------------------------------------------------------------
const empty = make("div", "sv-empty", root);
empty.textContent = "Run a comparison to zoom into every image together.";
const bar = make("div", "sv-bar", root);
const zoomGroup = make("span", "sv-group", bar);
make("span", "", zoomGroup).textContent = "Zoom";
const factorButtons = FACTORS.map((f) => {
  const button = make("button", "sv-zoom", zoomGroup);
  button.type = "button";
  button.textContent = `${f}x`;
  button.dataset.factor = String(f);
  button.addEventListener("click", () => setFactor(f));
  return button;
});
const factorLabel = make("span", "sv-factor", zoomGroup);
const sizeGroup = make("label", "sv-group", bar);
make("span", "", sizeGroup).textContent = "Panel";
const sizeSelect = make("select", "sv-size", sizeGroup);
for (const size of SIZES) {
  const option = make("option", "", sizeSelect);
  option.value = String(size);
  option.textContent = `${size} px`;
}
sizeSelect.value = String(state.size);
sizeSelect.addEventListener("change", () => {
  state.size = Number(sizeSelect.value);
  layout();
  root.focus({ preventScroll: true });
});
const flipGroup = make("span", "sv-group", bar);
make("span", "", flipGroup).textContent = "Flip";
const selectA = make("select", "sv-pick-a", flipGroup);
const flipButton = make("button", "sv-flip-button", flipGroup);
flipButton.type = "button";
flipButton.textContent = "⇄ (F)";
flipButton.title = "Show the other image in the flip panel (F or Space)";
const selectB = make("select", "sv-pick-b", flipGroup);
// After a pick the focus returns to the viewer, so F flips at once.
selectA.addEventListener("change", () => {
  state.a = state.pickA = selectA.value;
  layout();
  root.focus({ preventScroll: true });
});
selectB.addEventListener("change", () => {
  state.b = state.pickB = selectB.value;
  layout();
  root.focus({ preventScroll: true });
});
flipButton.addEventListener("click", () => toggle());
const hint = make("span", "sv-hint", bar);
hint.textContent = "Click an image to centre there, drag to pan; F or Space flips; 1 2 4 8 zoom; arrows pan.";
const body = make("div", "sv-body", root);
const overview = make("div", "sv-overview", body);
const overviewImg = make("img", "", overview);
overviewImg.alt = "overview";
overviewImg.draggable = false;
const box = make("div", "sv-box", overview);
const grid = make("div", "sv-grid", body);

// ---- geometry ----------------------------------------------------------------------------------
function scene() {
  // The largest image (by width) sets the scene's pixel grid.
  let largest = state.images[0];
  for (const image of state.images) if (image.width > largest.width) largest = image;
  const dpr = window.devicePixelRatio || 1;
  const view = Math.round(state.size * dpr); // device px
  const width = largest.width * state.factor; // device px the scene spans
  const height = largest.height * state.factor;
  const shownX = width > view ? clamp(state.cx, view / 2 / width, 1 - view / 2 / width) : 0.5;
  const shownY = height > view ? clamp(state.cy, view / 2 / height, 1 - view / 2 / height) : 0.5;
  return { largest, dpr, view, width, height, shownX, shownY };
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

function place(img, image, geo) {
  // One image in its panel: the scale and offset every panel shares, in whole device pixels.
  const magnify = geo.width / image.width;
  const width = image.width * magnify;
  const height = image.height * magnify;
  const left = Math.round(geo.view / 2 - geo.shownX * width);
  const top = Math.round(geo.view / 2 - geo.shownY * height);
  img.style.width = `${width / geo.dpr}px`;
  img.style.height = `${height / geo.dpr}px`;
  img.style.transform = `translate(${left / geo.dpr}px, ${top / geo.dpr}px)`;
  img.dataset.magnify = String(magnify);
  img.dataset.left = String(left);
  img.dataset.top = String(top);
  return magnify;
}

function caption(image, magnify) {
  return `${image.label} (${image.width}x${image.height}) · ${number(magnify)}x`;
}

function byKey(key) {
  return state.images.find((image) => image.key === key);
}

function layout() {
  if (!state.images.length) return;
  const geo = scene();
  const side = `${geo.view / geo.dpr}px`;
  for (const button of factorButtons) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.factor) === state.factor));
  }
  factorLabel.textContent = `${state.factor}x`;
  factorLabel.title = `${state.factor} screen pixels per pixel of ${geo.largest.label} (${geo.largest.width}x${geo.largest.height})`;
  for (const { figure, view, img, caption: text, image } of panels.values()) {
    figure.style.width = side;
    view.style.width = side;
    view.style.height = side;
    text.textContent = caption(image, place(img, image, geo));
  }
  const a = byKey(state.a) || state.images[0];
  const b = byKey(state.b) || state.images[state.images.length - 1];
  flip.figure.style.width = side;
  flip.view.style.width = side;
  flip.view.style.height = side;
  setSource(flip.imgA, a);
  setSource(flip.imgB, b);
  const magA = place(flip.imgA, a, geo);
  const magB = place(flip.imgB, b, geo);
  flip.imgA.hidden = state.showing !== "a";
  flip.imgB.hidden = state.showing !== "b";
  const [shown, other, magnify] = state.showing === "a" ? [a, b, magA] : [b, a, magB];
  flip.caption.replaceChildren();
  make("b", "", flip.caption).textContent = `${state.showing.toUpperCase()}: ${caption(shown, magnify)}`;
  flip.caption.append(` — F shows ${state.showing === "a" ? "B" : "A"}: ${other.label}`);
  flip.figure.dataset.showing = shown.key;
  flipButton.textContent = `A ⇄ B (F) · showing ${state.showing.toUpperCase()}`;
  // The overview: the first image fitted in OVERVIEW px, with the shown region boxed.
  const first = state.images[0];
  const scale = OVERVIEW / first.width;
  overviewImg.style.width = `${OVERVIEW}px`;
  overviewImg.style.height = `${first.height * scale}px`;
  const spanX = Math.min(1, geo.view / geo.width);
  const spanY = Math.min(1, geo.view / geo.height);
  box.style.left = `${(geo.shownX - spanX / 2) * OVERVIEW}px`;
  box.style.top = `${(geo.shownY - spanY / 2) * first.height * scale}px`;
  box.style.width = `${spanX * OVERVIEW}px`;
  box.style.height = `${spanY * first.height * scale}px`;
  root.dataset.factor = String(state.factor);
  root.dataset.cx = String(geo.shownX);
  root.dataset.cy = String(geo.shownY);
  root.dataset.showing = shown.key;
}

function setSource(img, image) {
  if (img.dataset.key !== image.key || img.getAttribute("src") !== image.file.url) {
    img.src = image.file.url;
    img.dataset.key = image.key;
    img.alt = image.label;
  }
}

// ---- actions -----------------------------------------------------------------------------------
function setFactor(factor) {
  state.factor = factor;
  layout();
}

function toggle() {
  state.showing = state.showing === "a" ? "b" : "a";
  layout();
}

function centreAt(x, y) {
  state.cx = clamp(x, 0, 1);
  state.cy = clamp(y, 0, 1);
  layout();
}

function pannable(view, shownImg) {
  // Drag pans every panel; a click (no drag) centres every panel on the clicked scene point.
  // `shownImg()` is the panel's visible image (the flip panel has two).
  let start = null;
  view.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    root.focus({ preventScroll: true });
    const geo = scene();
    start = { x: event.clientX, y: event.clientY, cx: geo.shownX, cy: geo.shownY, dragged: false };
    view.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  view.addEventListener("pointermove", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!start.dragged && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
    start.dragged = true;
    view.classList.add("sv-dragging");
    const geo = scene();
    centreAt(start.cx - (dx * geo.dpr) / geo.width, start.cy - (dy * geo.dpr) / geo.height);
  });
  const finish = (event) => {
    if (!start) return;
    const clicked = !start.dragged;
    start = null;
    view.classList.remove("sv-dragging");
    if (!clicked || event.type !== "pointerup") return;
    const geo = scene();
    const rect = view.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * geo.dpr - Number(shownImg().dataset.left)) / geo.width;
    const y = ((event.clientY - rect.top) * geo.dpr - Number(shownImg().dataset.top)) / geo.height;
    centreAt(x, y);
  };
  view.addEventListener("pointerup", finish);
  view.addEventListener("pointercancel", finish);
}

function overviewPointer(event) {
  const rect = overview.getBoundingClientRect();
  centreAt((event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height);
}
let overviewDown = false;
overview.addEventListener("pointerdown", (event) => {
  overviewDown = true;
  overview.setPointerCapture(event.pointerId);
  root.focus({ preventScroll: true });
  overviewPointer(event);
  event.preventDefault();
});
overview.addEventListener("pointermove", (event) => overviewDown && overviewPointer(event));
overview.addEventListener("pointerup", () => (overviewDown = false));
overview.addEventListener("pointercancel", () => (overviewDown = false));

root.addEventListener("keydown", (event) => {
  if (!state.images.length || event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
  if (tag === "BUTTON" && (event.key === " " || event.key === "Enter")) return; // the button's own click
  const geo = scene();
  const step = geo.view / 4;
  const moves = {
    ArrowLeft: [-step / geo.width, 0],
    ArrowRight: [step / geo.width, 0],
    ArrowUp: [0, -step / geo.height],
    ArrowDown: [0, step / geo.height],
  };
  if (event.key === "f" || event.key === "F" || event.key === " ") {
    toggle();
  } else if (FACTORS.includes(Number(event.key))) {
    setFactor(Number(event.key));
  } else if (event.key === "+" || event.key === "=" || event.key === "-") {
    const index = FACTORS.indexOf(state.factor) + (event.key === "-" ? -1 : 1);
    setFactor(FACTORS[clamp(index, 0, FACTORS.length - 1)]);
  } else if (moves[event.key]) {
    centreAt(geo.shownX + moves[event.key][0], geo.shownY + moves[event.key][1]);
  } else {
    return;
  }
  event.preventDefault();
});
function onResize() {
  if (!root.isConnected) window.removeEventListener("resize", onResize); // unmounted: let go
  else layout(); // a browser zoom changes devicePixelRatio
}
window.addEventListener("resize", onResize);

// ---- panels from the value ---------------------------------------------------------------------
function makePanel(cls) {
  const figure = make("figure", `sv-panel ${cls}`);
  const view = make("div", "sv-view", figure);
  const text = make("figcaption", "", figure);
  return { figure, view, caption: text };
}

function fillSelect(select, chosen) {
  select.replaceChildren();
  for (const image of state.images) {
    const option = make("option", "", select);
    option.value = image.key;
    option.textContent = image.label;
  }
  select.value = chosen;
}

function show(value) {
  const images = value && Array.isArray(value.images) ? value.images.filter((i) => i && i.file && i.file.url) : [];
  state.images = images;
  empty.hidden = images.length > 0;
  bar.hidden = body.hidden = images.length === 0;
  if (!images.length) {
    grid.replaceChildren();
    panels.clear();
    return;
  }
  const keys = new Set(images.map((image) => image.key));
  const [defaultA, defaultB] = Array.isArray(value.flip) ? value.flip : [];
  // Recomputed on every update: the first update of a run has no outputs (default pair: input, input), so
  // keeping the old pair while its keys stay valid would leave F flipping the input with itself.
  const pick = (picked, fallback, last) => (keys.has(picked) ? picked : keys.has(fallback) ? fallback : last);
  state.a = pick(state.pickA, defaultA, images[0].key);
  state.b = pick(state.pickB, defaultB, images[images.length - 1].key);
  fillSelect(selectA, state.a);
  fillSelect(selectB, state.b);
  if (!flip) {
    flip = makePanel("sv-flip");
    flip.figure.dataset.key = "flip";
    flip.imgA = make("img", "sv-a", flip.view);
    flip.imgB = make("img", "sv-b", flip.view);
    for (const img of [flip.imgA, flip.imgB]) img.draggable = false;
    pannable(flip.view, () => (state.showing === "a" ? flip.imgA : flip.imgB));
  }
  for (const [key, panel] of panels) if (!keys.has(key)) panels.delete(key);
  const ordered = [flip.figure];
  for (const image of images) {
    let panel = panels.get(image.key);
    if (!panel) {
      panel = makePanel("");
      panel.figure.dataset.key = image.key;
      panel.img = make("img", "", panel.view);
      panel.img.draggable = false;
      pannable(panel.view, () => panel.img);
      panels.set(image.key, panel);
    }
    panel.image = image;
    setSource(panel.img, image);
    ordered.push(panel.figure);
  }
  grid.replaceChildren(...ordered);
  overviewImg.src = images[0].file.url;
  layout();
}

show(props.value);
watch("value", () => show(props.value));
