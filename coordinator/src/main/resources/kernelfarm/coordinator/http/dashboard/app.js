// KernelFarm's live dashboard: three pages over the coordinator's API, updated by Server-Sent Events.
// Plain browser JavaScript, no build step. Every value from the API is written as text (textContent), never as
// HTML: problem names, prompts and candidate sources come from users and LLMs.
"use strict";

const API = "/api/v1";
// Marks this page load: a test (or a person) can tell a live update from a reload.
document.documentElement.dataset.loadId = String(Math.random()).slice(2);

// ---- API access: the token (when reads need one) lives in this tab's session storage only. ----

function authHeaders() {
  const token = sessionStorage.getItem("kfarm-token");
  return token ? { Authorization: "Bearer " + token } : {};
}

function askForToken() {
  const form = document.getElementById("token-form");
  form.hidden = false;
  form.onsubmit = (e) => {
    e.preventDefault();
    sessionStorage.setItem("kfarm-token", document.getElementById("token-input").value.trim());
    form.hidden = true;
    route();
  };
}

async function getJson(path) {
  const r = await fetch(API + path, { headers: authHeaders() });
  if (r.status === 401) {
    askForToken();
    throw new Error("the API token is needed");
  }
  const body = await r.json();
  if (!r.ok) {
    throw new Error((body.errors || []).map((e) => e.field + ": " + e.problem).join("; ") || r.statusText);
  }
  return body;
}

// Server-Sent Events read with fetch rather than EventSource, so the token travels in a header, never in a URL
// (URLs end up in logs). Reconnects after a dropped connection; close() stops it for good.
function stream(path, onSnapshot, onError) {
  const abort = new AbortController();
  let closed = false;
  const live = document.getElementById("live");
  async function run() {
    while (!closed) {
      try {
        const r = await fetch(API + path, { headers: { ...authHeaders(), Accept: "text/event-stream" },
          signal: abort.signal });
        if (r.status === 401) {
          askForToken();
          return;
        }
        live.className = "live on";
        live.textContent = "live";
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            dispatch(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch (e) {
        if (closed) return;
      }
      live.className = "live off";
      live.textContent = "reconnecting";
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  function dispatch(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length === 0) return; // heartbeat
    const value = JSON.parse(data.join("\n"));
    if (type === "snapshot") onSnapshot(value);
    else if (type === "error" && onError) onError(value);
  }
  run();
  return { close() { closed = true; abort.abort(); } };
}

// ---- Small DOM helpers. ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function replace(id, node) {
  const old = document.getElementById(id);
  node.id = id;
  old.replaceWith(node);
}

function tile(key, label, value, sub) {
  return el("div", { class: "tile" }, el("div", { class: "k" }, label),
    el("div", { class: "v", id: "k-" + key }, value), sub ? el("div", { class: "s", id: "s-" + key }, sub) : null);
}

function state(text) {
  return el("span", { class: "state " + text }, text);
}

function bar(share) {
  const pct = Math.max(0, Math.min(1, share || 0)) * 100;
  return el("div", { class: "bar", title: pct.toFixed(1) + "%" }, el("i", { style: "width:" + pct.toFixed(1) + "%" }));
}

const fmt = {
  x(v) { return v === null || v === undefined ? "–" : Number(v).toFixed(2) + "×"; },
  pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; },
  usd(v) { return "$" + Number(v || 0).toFixed(v >= 1 ? 2 : 4); },
  int(v) { return Number(v || 0).toLocaleString("en-US"); },
  secs(v) {
    v = Number(v || 0);
    return v < 120 ? v.toFixed(1) + " s" : v < 7200 ? (v / 60).toFixed(1) + " min" : (v / 3600).toFixed(1) + " h";
  },
  time(v) { return v ? new Date(millis(v)).toLocaleString() : "–"; },
};

function millis(t) {
  return typeof t === "number" ? t * 1000 : Date.parse(t);
}

function crumbs(...parts) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...parts.map(([text, href]) => (href ? el("a", { href }, text) : el("span", {}, text))));
}

// ---- Charts (uPlot, served from the jar). ----

const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a"];

// Series of (x, y) points with different x values, merged onto one x axis as uPlot wants; gaps are spanned.
function chartData(seriesPoints) {
  const xs = [...new Set(seriesPoints.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = seriesPoints.map((s) => {
    const y = new Array(xs.length).fill(null);
    s.points.forEach(([x, v]) => { y[index.get(x)] = v; });
    return y;
  });
  return [xs, ...ys];
}

function drawChart(holder, existing, labels, data, xLabel, yLabel) {
  if (!window.uPlot) {
    holder.replaceChildren(el("div", { class: "empty" }, "uPlot did not load; the figures above are still live."));
    return null;
  }
  if (data[0].length === 0) {
    holder.replaceChildren(el("div", { class: "empty" }, "No correct candidate yet: the curve starts with the first."));
    return null;
  }
  const key = labels.join("\u0000");
  if (existing && existing.key === key && holder.contains(existing.plot.root)) {
    existing.plot.setData(data);
    return existing;
  }
  holder.replaceChildren();
  // A best-so-far curve holds its value until the next improvement: steps, not slopes.
  const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  const plot = new uPlot({
    width: Math.max(320, holder.clientWidth - 12), height: 260,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel }],
    series: [{ label: xLabel }, ...labels.map((label, i) => ({
      label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { size: 5 }, paths: stepped,
    }))],
  }, data, holder);
  return { key, plot };
}

// Devices whose latest report says they are `what`; a silent one is not counted as doing anything.
function doing(farm, what) {
  return farm.workers.filter((w) => w.state !== "silent" && w.device && w.device.state === what).length;
}

// ---- Pages. Each returns the streams it opened, closed when the route changes. ----

function clusterPage(main) {
  crumbs(["Cluster"]);
  main.replaceChildren(
    el("h1", {}, "Cluster"),
    el("div", { class: "tiles", id: "farm-tiles" }, el("div", { class: "empty" }, "Waiting for the Dispatcher…")),
    el("h2", {}, "Devices"),
    el("div", { id: "devices" }),
    el("h2", {}, "Nodes"),
    el("div", { id: "nodes" }),
    el("h2", {}, "Campaigns"),
    el("div", { id: "campaigns" }, el("div", { class: "empty" }, "Loading…")));
  const cluster = stream("/events/cluster", (s) => {
    const f = s.farm;
    if (f) {
      replace("farm-tiles", el("div", { class: "tiles" },
        tile("queue", "Queue depth", fmt.int(f.queued), "candidates waiting"),
        tile("leased", "Leased", fmt.int(f.leased), "compiling or evaluating"),
        tile("rate", "Verdicts / min", fmt.int(f.verdictsLastMinute)),
        tile("verdicts", "Verdicts", fmt.int(f.verdicts), "since the Dispatcher started"),
        tile("devices", "Devices", fmt.int(f.workers.length)),
        tile("evaluating", "Evaluating", fmt.int(doing(f, "evaluating")),
          ["compiling", "idle", "unhealthy", "draining"].map((d) => doing(f, d) + " " + d).join(" · "))));
      replace("devices", f.workers.length === 0 ? el("div", { class: "empty" }, "No worker has asked for work yet.")
        : el("table", {}, el("tr", {}, ["Node", "Device", "Type", "Doing", "Healthy", "Warm", "Compile slots",
          "Dispatcher", "Leases", "Verdicts", "Share of time with work", ""].map((h) => el("th", {}, h))),
        f.workers.map((w) => {
          const at = w.workerId.lastIndexOf("/");
          const share = w.seenSeconds > 0 ? w.leasedSeconds / w.seenSeconds : 0;
          const st = w.state; // decided on the server, by the rule /metrics counts devices with
          const d = w.device; // the worker's own report; null until its first
          return el("tr", {}, el("td", {}, at > 0 ? w.workerId.slice(0, at) : ""),
            el("td", {}, at > 0 ? w.workerId.slice(at + 1) : w.workerId), el("td", {}, w.deviceType),
            // A silent worker's last report is history, not its state: shown, but muted.
            el("td", st === "silent" && d ? { class: "muted", title: "last reported" } : {},
              d ? state(d.state) : el("span", { class: "muted" }, "not reported")),
            el("td", {}, d ? (d.healthy ? "yes" : state("unhealthy")) : "–"),
            el("td", { class: "num" }, d ? fmt.int(d.warmEvaluators) : "–"),
            el("td", { class: "num", title: "busy / total, shared by the host's devices" },
              d ? d.compileSlotsBusy + " / " + d.compileSlotsTotal : "–"),
            el("td", {}, state(st)), el("td", { class: "num" }, w.leases), el("td", { class: "num" }, fmt.int(w.verdicts)),
            el("td", {}, bar(share)), el("td", { class: "num" }, fmt.pct(share)));
        })));
    } else {
      replace("farm-tiles", el("div", { class: "empty error" },
        "The Dispatcher did not answer: " + ((s.farmError && s.farmError.errors || []).map((e) => e.problem).join("; "))));
    }
    replace("nodes", el("table", {}, el("tr", {}, ["Address", "Status", "Roles", "Reachable"].map((h) => el("th", {}, h))),
      (s.members || []).map((m) => el("tr", {}, el("td", {}, m.address), el("td", {}, state(m.status)),
        el("td", {}, (m.roles || []).join(", ")), el("td", {}, m.reachable ? "yes" : state("unreachable"))))));
  });
  const campaigns = stream("/events/campaigns", (page) => {
    replace("campaigns", page.items.length === 0 ? el("div", { class: "empty" }, "No campaign yet: submit one with kfarm campaign or POST /api/v1/campaigns.")
      : el("table", {}, el("tr", {}, ["Campaign", "Name", "State", "Problems done", "", "Submitted"].map((h) => el("th", {}, h))),
        page.items.map((c) => el("tr", { class: "clickable", "data-campaign": c.id, onclick: () => { location.hash = "#/campaigns/" + encodeURIComponent(c.id); } },
          el("td", {}, el("a", { href: "#/campaigns/" + encodeURIComponent(c.id) }, c.id)), el("td", {}, c.name || ""),
          el("td", {}, state(c.state)), el("td", { class: "num" }, c.problemsDone + " / " + c.problems),
          el("td", {}, bar(c.problems ? c.problemsDone / c.problems : 0)), el("td", {}, fmt.time(c.submittedAt))))));
  });
  return [cluster, campaigns];
}

function campaignPage(main, id) {
  crumbs(["Cluster", "#/"], ["Campaign " + id]);
  main.replaceChildren(
    el("h1", {}, "Campaign ", el("span", { id: "campaign-id" }, id)),
    el("div", { id: "campaign-tiles" }, el("div", { class: "empty" }, "Waiting for the read side (a campaign submitted a moment ago appears within seconds)…")),
    el("h2", {}, "fast_p and geomean, by rule set"),
    el("div", { id: "rules" }),
    el("h2", {}, "Best speedup over time, per problem"),
    el("div", { class: "chart", id: "campaign-chart" }),
    el("h2", {}, "Problems"),
    el("div", { id: "problems" }));
  let chart = null;
  const s = stream("/campaigns/" + encodeURIComponent(id) + "/events", (v) => {
    const c = v.campaign.campaign;
    const sum = v.campaign.summary;
    const kb = sum.kernelbench || {};
    replace("campaign-tiles", el("div", { class: "tiles" },
      tile("state", "State", state(c.state), c.name),
      tile("done", "Problems done", c.problemsDone + " / " + c.problems, v.campaign.problemsStarted + " started"),
      tile("rounds", "Rounds", fmt.int(sum.rounds), "LLM answers"),
      tile("correct", "Correctness rate", fmt.pct(sum.correctnessRate), "KernelBench rules: " + fmt.pct(kb.correctnessRate)),
      tile("geomean", "Geomean speedup", fmt.x(sum.geomeanSpeedup), "KernelBench rules: " + fmt.x(kb.geomeanSpeedup)),
      tile("cost", "LLM cost", fmt.usd(sum.costUsd)),
      tile("tokens", "Tokens", fmt.int(sum.promptTokens + sum.completionTokens),
        fmt.int(sum.promptTokens) + " prompt, " + fmt.int(sum.completionTokens) + " completion"),
      tile("gpu", "Device time", fmt.secs(sum.gpuSeconds))));
    const ps = Object.keys(sum.fastP || {});
    replace("rules", el("table", {}, el("tr", {}, el("th", {}, "Rule set"), el("th", {}, "Correct"), ps.map((p) => el("th", {}, p)), el("th", {}, "Geomean")),
      el("tr", {}, el("td", {}, "strict (every anti-cheat check)"), el("td", { class: "num" }, sum.correct + " / " + sum.problems),
        ps.map((p) => el("td", { class: "num" }, fmt.pct(sum.fastP[p]))), el("td", { class: "num" }, fmt.x(sum.geomeanSpeedup))),
      el("tr", {}, el("td", {}, "kernelbench (KernelBench's own eval)"), el("td", { class: "num" }, (kb.correct || 0) + " / " + sum.problems),
        ps.map((p) => el("td", { class: "num" }, fmt.pct((kb.fastP || {})[p]))), el("td", { class: "num" }, fmt.x(kb.geomeanSpeedup)))));
    const problems = v.problems.items;
    replace("problems", problems.length === 0 ? el("div", { class: "empty" }, "No problem has started yet.")
      : el("table", {}, el("tr", {}, ["Problem", "State", "Rounds", "", "Judged", "Best", "Best speedup", "Cost", "Tokens"].map((h) => el("th", {}, h))),
        problems.map((p) => {
          const href = "#/campaigns/" + encodeURIComponent(id) + "/problems/" + encodeURIComponent(p.problemId);
          return el("tr", { class: "clickable", "data-problem": p.problemId, onclick: () => { location.hash = href; } },
            el("td", {}, el("a", { href }, p.problemId)), el("td", {}, state(p.state)),
            el("td", { class: "num" }, p.roundsAnswered + " / " + p.roundsPlanned),
            el("td", {}, bar(p.roundsPlanned ? p.roundsAnswered / p.roundsPlanned : 0)),
            el("td", { class: "num" }, p.roundsJudged), el("td", {}, p.bestStatus ? state(p.bestStatus) : "–"),
            el("td", { class: "num" }, fmt.x(p.bestSpeedup)), el("td", { class: "num" }, fmt.usd(p.costUsd)),
            el("td", { class: "num" }, fmt.int(p.promptTokens + p.completionTokens)));
        })));
    const shown = problems.filter((p) => (p.curve || []).length > 0).slice(0, PALETTE.length * 2);
    chart = drawChart(document.getElementById("campaign-chart"), chart, shown.map((p) => p.name || p.problemId),
      chartData(shown.map((p) => ({ points: p.curve.map((pt) => [pt.seconds, pt.speedup]) }))), "seconds", "best speedup");
  }, (err) => {
    if (err.status === 404) return; // not projected yet: the waiting note stays
    replace("campaign-tiles", el("div", { class: "empty error" }, (err.errors || []).map((e) => e.problem).join("; ")));
  });
  return [s];
}

function problemPage(main, id, problemId) {
  const campaignHref = "#/campaigns/" + encodeURIComponent(id);
  crumbs(["Cluster", "#/"], ["Campaign " + id, campaignHref], [problemId]);
  main.replaceChildren(
    el("h1", {}, problemId),
    el("div", { id: "problem-tiles" }, el("div", { class: "empty" }, "Loading…")),
    el("h2", {}, "Speedup over time, per branch (best correct so far)"),
    el("div", { class: "chart", id: "problem-chart" }),
    el("h2", {}, "Best candidate"),
    el("div", { id: "best" }, el("div", { class: "empty" }, "No correct candidate yet.")),
    el("h2", {}, "Rounds"),
    el("div", { id: "rounds" }),
    el("div", { id: "round-detail" }));
  let chart = null;
  let best = null;
  const base = "/campaigns/" + encodeURIComponent(id);
  const s = stream(base + "/problems/" + encodeURIComponent(problemId) + "/events", (v) => {
    const p = v.problem;
    replace("problem-tiles", el("div", { class: "tiles" },
      tile("state", "State", state(p.state), p.finishReason || ""),
      tile("best", "Best speedup", fmt.x(p.bestSpeedup), p.bestStatus || "nothing correct yet"),
      tile("rounds", "Rounds", p.roundsAnswered + " / " + p.roundsPlanned, p.roundsJudged + " judged"),
      tile("tobest", "Time to best", p.bestSpeedup ? fmt.secs(p.secondsToBest) : "–", fmt.int(p.tokensToBest) + " tokens"),
      tile("cost", "LLM cost", fmt.usd(p.costUsd)),
      tile("tokens", "Tokens", fmt.int(p.promptTokens + p.completionTokens)),
      tile("gpu", "Device time", fmt.secs(p.gpuSeconds))));
    const rounds = v.rounds.items;
    const start = millis(p.startedAt);
    const branches = [...new Set(rounds.map((r) => r.branch))].sort((a, b) => a - b);
    const series = branches.map((b) => {
      let bestSoFar = null;
      const points = [];
      rounds.filter((r) => r.branch === b && r.judgedAt && r.status === "CORRECT" && r.speedup)
        .sort((x, y) => millis(x.judgedAt) - millis(y.judgedAt))
        .forEach((r) => {
          bestSoFar = Math.max(bestSoFar || 0, r.speedup);
          points.push([(millis(r.judgedAt) - start) / 1000, bestSoFar]);
        });
      return { points };
    });
    chart = drawChart(document.getElementById("problem-chart"), chart, branches.map((b) => "branch " + b),
      chartData(series), "seconds since start", "speedup");
    replace("rounds", rounds.length === 0 ? el("div", { class: "empty" }, "No round answered yet.")
      : el("table", {}, el("tr", {}, ["Branch", "Round", "Status", "Speedup", "Tokens", "Cost", "Latency", "Verdict summary"].map((h) => el("th", {}, h))),
        rounds.map((r) => el("tr", { class: "clickable", title: "Show the prompt, answer and feedback",
          onclick: () => showRound(base, problemId, r.branch, r.round) },
          el("td", { class: "num" }, r.branch), el("td", { class: "num" }, r.round),
          el("td", {}, r.status ? state(r.status) : el("span", { class: "muted" }, r.candidateId ? "verifying" : "no code")),
          el("td", { class: "num" }, fmt.x(r.speedup)), el("td", { class: "num" }, fmt.int(r.promptTokens + r.completionTokens)),
          el("td", { class: "num" }, fmt.usd(r.costUsd)), el("td", { class: "num" }, fmt.secs(r.latencyMillis / 1000)),
          el("td", {}, (r.summary || "").split("\n")[0])))));
    if (p.bestCandidate && p.bestCandidate !== best) {
      best = p.bestCandidate;
      getJson(base + "/candidates/" + encodeURIComponent(best)).then((c) => {
        replace("best", el("div", {}, el("div", { class: "tiles" },
          tile("best-status", "Verdict", state(c.status), "rounds " + (c.rounds || []).join(", ")),
          tile("best-speedup", "Speedup", fmt.x(c.speedup), c.verdict && c.verdict.kernelbench
            ? "KernelBench rules: " + (c.verdict.kernelbench.correct ? "correct" : "not correct") : "")),
          el("div", { class: "two" },
            el("div", {}, el("h2", {}, "Code"), el("pre", { id: "best-source" }, c.source || "")),
            el("div", {}, el("h2", {}, "Verdict"), verdictView(c.verdict),
              logsView(base + "/candidates/" + encodeURIComponent(best), c.verdict)))));
      }).catch((e) => replace("best", el("div", { class: "empty error" }, e.message)));
    }
  });
  return [s];
}

function verdictView(v) {
  if (!v) return el("div", { class: "empty" }, "Not judged yet.");
  return el("div", {},
    el("pre", {}, v.summary || ""),
    el("table", {}, el("tr", {}, el("th", {}, "Check"), el("th", {}, "Outcome"), el("th", {}, "Detail")),
      (v.checks || []).map((c) => el("tr", {}, el("td", {}, c.name), el("td", {}, state(c.outcome)), el("td", {}, c.detail)))),
    el("details", {}, el("summary", {}, "Full verdict (JSON)"), el("pre", {}, JSON.stringify(v, null, 2))));
}

// A verdict's logs stay on the worker that judged it: the API fetches one from there when its button is pressed.
function logsView(candidatePath, v) {
  if (!v || !v.logs || !v.logs.length) return null;
  const text = el("pre", { id: "log-text", class: "log" }, "");
  const show = async (i) => {
    text.textContent = "Loading…";
    try {
      const r = await fetch(API + candidatePath + "/logs/" + i, { headers: authHeaders() });
      text.textContent = r.ok ? (await r.text()) || "(empty)" : "Not available: "
        + (await r.json()).errors.map((e) => e.field + ": " + e.problem + " (" + e.fix + ")").join("\n");
    } catch (e) {
      text.textContent = "Not available: " + e.message;
    }
  };
  return el("div", { id: "logs" }, el("h3", {}, "Logs, from the worker that judged it"),
    el("div", {}, v.logs.map((path, i) => el("button", { class: "log-button", onclick: () => show(i) },
      path.split("/").pop()))),
    text);
}

// Prompts, answers and sources are fetched one round at a time, on demand: they are the bulky part.
async function showRound(base, problemId, branch, round) {
  const holder = document.getElementById("round-detail");
  holder.replaceChildren(el("h2", {}, "Round " + branch + "/" + round), el("div", { class: "empty" }, "Loading…"));
  try {
    const r = await getJson(base + "/problems/" + encodeURIComponent(problemId) + "/rounds/" + branch + "/" + round);
    holder.replaceChildren(...[el("h2", {}, "Branch " + branch + ", round " + round),
      el("details", { open: "" }, el("summary", {}, "Prompt"), el("pre", { id: "round-prompt" }, r.prompt || "")),
      r.reasoning ? el("details", {}, el("summary", {}, "Reasoning"), el("pre", {}, r.reasoning)) : null,
      el("details", { open: "" }, el("summary", {}, "Answer"), el("pre", {}, r.content || "")),
      el("details", {}, el("summary", {}, "Candidate source"), el("pre", {}, r.source || "(no code block)")),
      el("details", { open: "" }, el("summary", {}, "Feedback (the verdict this round got)"), verdictView(r.verdict))]
      .filter((n) => n !== null));
    holder.scrollIntoView({ behavior: "smooth" });
  } catch (e) {
    holder.replaceChildren(el("div", { class: "empty error" }, e.message));
  }
}

// ---- Routing: #/, #/campaigns/ID, #/campaigns/ID/problems/PID. ----

let open = [];
function route() {
  open.forEach((s) => s.close());
  const main = document.getElementById("page");
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter((p) => p.length > 0).map(decodeURIComponent);
  if (parts[0] === "campaigns" && parts.length >= 4 && parts[2] === "problems") {
    open = problemPage(main, parts[1], parts.slice(3).join("/"));
  } else if (parts[0] === "campaigns" && parts.length >= 2) {
    open = campaignPage(main, parts[1]);
  } else {
    open = clusterPage(main);
  }
}
window.addEventListener("hashchange", route);
route();
