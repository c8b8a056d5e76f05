// Trains a small regression MLP with model.fit on WebGL, its optimizer wrapped
// by gradclip's withGradientClipping, and plots the pre-clip global gradient
// norm of every batch (logs.grad_norm) live, against the maxNorm line.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgl";
import * as tfl from "@tensorflow/tfjs-layers";
import { gradNormCallback, withGradientClipping } from "gradclip/tfjs";

const MAX_NORM = 1;
const EPOCHS = 30;
const BATCH_SIZE = 32;
const SAMPLES = 96;

/** What the page did, for people (the status line) and for tests (test/browser). */
const state = {
  done: false,
  error: null,
  backend: null,
  epochs: EPOCHS,
  steps: 0,
  totalSteps: EPOCHS * Math.ceil(SAMPLES / BATCH_SIZE),
  norms: [],
  losses: [],
  clippedSteps: 0,
  chart: { plotWidth: 0, lineColumns: 0, rulePixels: 0 },
};
window.exampleState = state;

const status = document.getElementById("status");
const canvas = document.getElementById("chart");
const ctx = canvas.getContext("2d");
const PAD = { left: 56, right: 44, top: 28, bottom: 36 };
const LINE = "#1f5fbf";
const RULE = "#d62728";
const LOSS = "#8c8c8c";

/** Redraws the whole chart: axes, maxNorm rule, and the norm of each step so far. */
function draw() {
  const w = canvas.width - PAD.left - PAD.right;
  const h = canvas.height - PAD.top - PAD.bottom;
  const yMax = Math.max(MAX_NORM * 1.5, ...state.norms) * 1.1;
  const x = (i) => PAD.left + (state.totalSteps <= 1 ? 0 : (i / (state.totalSteps - 1)) * w);
  const y = (v) => PAD.top + h - (v / yMax) * h;

  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#999";
  ctx.lineWidth = 1;
  ctx.strokeRect(PAD.left, PAD.top, w, h);
  ctx.fillStyle = "#444";
  ctx.font = "12px sans-serif";
  ctx.textAlign = "right";
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    ctx.fillText(v.toFixed(1), PAD.left - 6, y(v) + 4);
  }
  ctx.textAlign = "center";
  ctx.fillText("training step", PAD.left + w / 2, canvas.height - 8);
  ctx.fillText("0", x(0), PAD.top + h + 16);
  ctx.fillText(String(state.totalSteps), x(state.totalSteps - 1), PAD.top + h + 16);
  ctx.textAlign = "left";
  ctx.fillStyle = LINE;
  ctx.fillText("global gradient norm before clipping (logs.grad_norm)", PAD.left, 18);
  ctx.fillStyle = RULE;
  ctx.fillText(`maxNorm = ${MAX_NORM}`, PAD.left + 380, 18);

  // Snapped to whole pixels and 2 px wide: a 1 px line at a fractional y is
  // anti-aliased into two pale rows that no longer read as the rule's red.
  const ruleY = Math.round(y(MAX_NORM));
  ctx.strokeStyle = RULE;
  ctx.lineWidth = 2;
  ctx.setLineDash([6, 4]);
  ctx.beginPath();
  ctx.moveTo(PAD.left, ruleY);
  ctx.lineTo(PAD.left + w, ruleY);
  ctx.stroke();
  ctx.setLineDash([]);

  // Loss, on its own scale (right axis), in grey.
  const lossMax = Math.max(...state.losses, 1e-9) * 1.1;
  const yl = (v) => PAD.top + h - (v / lossMax) * h;
  ctx.fillStyle = LOSS;
  ctx.textAlign = "left";
  for (let k = 0; k <= 4; k++)
    ctx.fillText(((lossMax * k) / 4).toFixed(1), PAD.left + w + 4, yl((lossMax * k) / 4) + 4);
  ctx.fillText("loss (right axis)", PAD.left + 530, 18);
  ctx.strokeStyle = LOSS;
  ctx.lineWidth = 1;
  ctx.beginPath();
  state.losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), yl(v)) : ctx.lineTo(x(i), yl(v))));
  ctx.stroke();

  ctx.strokeStyle = LINE;
  ctx.lineWidth = 2;
  ctx.beginPath();
  state.norms.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
}

/** Pixel census of the plot area: columns the norm line reaches, pixels of the rule. */
function measureChart() {
  const w = canvas.width - PAD.left - PAD.right;
  const h = canvas.height - PAD.top - PAD.bottom;
  const img = ctx.getImageData(PAD.left + 1, PAD.top + 1, w - 2, h - 2);
  const columns = new Set();
  let rulePixels = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
    if (b > 140 && r < 110 && g < 150) columns.add((i / 4) % img.width);
    if (r > 180 && g < 110 && b < 110) rulePixels++;
  }
  return { plotWidth: img.width, lineColumns: columns.size, rulePixels };
}

/** y = 1.5·(sin(3x) + x²/2): big enough that the early gradients exceed maxNorm. */
function data() {
  return tf.tidy(() => {
    // tfjs-core alone has no chained ops (t.reshape): use the functions.
    const x = tf.reshape(tf.linspace(-2, 2, SAMPLES), [SAMPLES, 1]);
    const y = tf.mul(tf.add(tf.sin(tf.mul(x, 3)), tf.mul(tf.square(x), 0.5)), 1.5);
    return { x, y };
  });
}

async function main() {
  await tf.setBackend("webgl");
  state.backend = tf.getBackend();

  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [1], units: 32, activation: "tanh" }),
      tfl.layers.dense({ units: 32, activation: "tanh" }),
      tfl.layers.dense({ units: 1 }),
    ],
  });
  // The one line that adds clipping: model.fit now clips every batch's gradients
  // to a global L2 norm of MAX_NORM, PyTorch's clip_grad_norm_ rule.
  const optimizer = withGradientClipping(tf.train.sgd(0.2), { maxNorm: MAX_NORM });
  model.compile({ optimizer, loss: "meanSquaredError" });

  const { x, y } = data();
  draw();
  await model.fit(x, y, {
    epochs: EPOCHS,
    batchSize: BATCH_SIZE,
    shuffle: true,
    verbose: 0,
    // gradNormCallback puts each batch's pre-clip norm into the logs as grad_norm
    // (a device scalar; the plain-object callback after it reads it, asynchronously).
    callbacks: [
      gradNormCallback(optimizer),
      {
        onBatchEnd: async (_batch, logs) => {
          const norm = logs.grad_norm;
          if (typeof norm !== "number")
            throw new Error(`logs.grad_norm is ${norm}: expected the wrapper's pre-clip norm`);
          state.steps++;
          state.norms.push(norm);
          state.losses.push(logs.loss);
          if (norm > MAX_NORM) state.clippedSteps++;
          status.textContent = `${state.backend}: step ${state.steps}/${state.totalSteps}, loss ${logs.loss.toFixed(3)}, grad norm ${norm.toFixed(3)} (${state.clippedSteps} steps clipped)`;
          draw();
        },
      },
    ],
  });
  state.chart = measureChart();
  x.dispose();
  y.dispose();
  model.dispose();
  status.textContent += " — done";
  state.done = true;
}

main().catch((e) => {
  state.error = String((e && e.stack) || e);
  status.textContent = `error: ${e}`;
});
