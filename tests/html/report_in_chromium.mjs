// The HTML report as a person sees it: each example's report opened in headless Chromium
// (Debian's chromium, driven by puppeteer-core). Fails on any console error or page error,
// checks that every chart drew its series, reads values back from the page, and saves a
// screenshot of each report.
// Usage: node report_in_chromium.mjs GPUTWIN_BINARY OUT_DIR
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [gputwin, outDir] = process.argv.slice(2);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
if (!chromium) {
  console.log('SKIP: no chromium (scripts/setup-npm.sh installs it)');
  process.exit(77);
}
mkdirSync(outDir, { recursive: true });

// Every example scenario, the charts its story needs, and values read back from the page,
// each derived by hand from the example's README or scenario comments. `at(series, m)` is
// the value at minute m (every run here is short enough for one point a minute).
const at = (series, m) => series[m];
const cases = [
  // Quickstart: 3 nodes of 4 V100s; 6 training pods of 2 GPUs run at once; the other 6
  // and the 2 inference pods wait at the start, all Unschedulable; 3 × $12.24 per hour.
  { scenario: 'examples/quickstart/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost'],
    check: (tl, eq) => {
      eq('GPU capacity at 0', tl.gpuCapacity[0], 12);
      eq('GPUs allocated at 0', tl.gpuAllocated[0], 12);
      eq('pods Pending at 0', tl.pending[0], 8);
      eq('pods Running at 0', tl.running[0], 6);
      eq('Unschedulable at 0', tl.waiting.Unschedulable[0], 8);
      eq('cost rate at 0', tl.costPerHour[0], 36.72);
    } },
  // Three NodePools; Karpenter nominates the pods to the NodeClaims it launches.
  { scenario: 'examples/gpu-nodepools-spot/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost'],
    check: (tl, eq, fail) => {
      eq('NodePools', Object.keys(tl.nodesByNodePool).sort().join(','),
         'inference-on-demand (on-demand),inference-spot (spot),training-spot (spot)');
      eq('capacity types', Object.keys(tl.nodes).sort().join(','), 'on-demand,spot');
      if (!(Math.max(...tl.waiting.Nominated) >= 1)) fail('no pod ever Nominated to a NodeClaim');
    } },
  // The seeds' GPUUnderutilised rule: both notebooks' alerts fire at 31m (scenario comment).
  // Until the device plugin registers (10 s) the three pods are Unschedulable.
  { scenario: 'examples/idle-gpu-alert/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'alerts'],
    check: (tl, eq) => {
      eq('alerts firing at 30m', at(tl.alerts.GPUUnderutilised, 30), 0);
      eq('alerts firing at 31m', at(tl.alerts.GPUUnderutilised, 31), 2);
      eq('Unschedulable at 0', tl.waiting.Unschedulable[0], 3);
      eq('Unschedulable at 1m', tl.waiting.Unschedulable[1], 0);
    } },
  // Kueue, two teams, 8 GPUs of nominal quota each (kueue.yaml). Kueue admits a Job only
  // when its pods fit, so no pod is ever Unschedulable; without Kueue they are.
  { scenario: 'examples/kueue-two-teams/scenario.yaml',
    charts: ['pods', 'gpus', 'nodes', 'cost', 'kueue', 'kueue-usage'],
    check: (tl, eq, fail) => {
      eq('ClusterQueues', Object.keys(tl.kueue).sort().join(','), 'inference,research');
      for (const q of ['inference', 'research']) eq(q + ' nominal quota', tl.kueue[q].gpuNominalQuota[0], 8);
      const total = tl.t.map((_, i) => tl.kueue.inference.gpusAdmitted[i] + tl.kueue.research.gpusAdmitted[i]);
      if (Math.max(...total) > 16) fail('more GPUs admitted than the cohort has');
      if (Math.max(...total) < 8) fail('no team ever used its quota');
      if ('Unschedulable' in tl.waiting) fail('a pod admitted by Kueue was Unschedulable');
    } },
  { scenario: 'examples/kueue-two-teams/scenario-without-kueue.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost'],
    check: (tl, eq, fail) => {
      if (!(Math.max(...tl.waiting.Unschedulable) > 0)) fail('without Kueue no pod waited as Unschedulable');
    } },
  // Cold start: the second replica is created at 30m on an empty node; hub: 75 s of image
  // pull (ContainerCreating at 31m), Ready 300 s after creation; node image: no pull.
  { scenario: 'examples/serving-cold-start/scenario-hub.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => {
      eq('ContainerCreating at 31m', at(tl.waiting.ContainerCreating, 31), 1);
      eq('ready replicas at 34m', at(tl.serving.chat.ready, 34), 1);
      eq('ready replicas at 36m', at(tl.serving.chat.ready, 36), 2);
    } },
  { scenario: 'examples/serving-cold-start/scenario-node-image.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => {
      eq('ContainerCreating at 31m', at(tl.waiting.ContainerCreating || tl.t.map(() => 0), 31), 0);
      eq('ready replicas at 31m', at(tl.serving.chat.ready, 31), 1);
      eq('ready replicas at 33m', at(tl.serving.chat.ready, 33), 2);  // 95 s to Ready
    } },
  { scenario: 'examples/serving-cold-start/scenario-object-storage.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'] },
  { scenario: 'examples/serving-cold-start/scenario-baked-weights.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'] },
  // HPA on CPU never scales past one replica and users wait minutes; KEDA on the queue
  // reaches 6 (README's table).
  { scenario: 'examples/serving-hpa-vs-keda/scenario-hpa-cpu.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq, fail) => {
      eq('most ready replicas', Math.max(...tl.serving.chat.ready), 1);
      if (!(Math.max(...tl.serving.chat.ttftP95) > 600)) fail('HPA on CPU: TTFT p95 never past 10 minutes');
    } },
  { scenario: 'examples/serving-hpa-vs-keda/scenario-keda-1m.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => eq('most ready replicas', Math.max(...tl.serving.chat.ready), 6) },
  { scenario: 'examples/serving-hpa-vs-keda/scenario-keda-10m.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => eq('most ready replicas', Math.max(...tl.serving.chat.ready), 6) },
  // On-demand base plus spot overflow: two NodePools; pure spot: one.
  { scenario: 'examples/serving-spot-overflow/scenario-on-demand-base.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => eq('NodePools', Object.keys(tl.nodesByNodePool).sort().join(','),
                          'serving-on-demand (on-demand),serving-spot (spot)') },
  { scenario: 'examples/serving-spot-overflow/scenario-pure-spot.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => eq('NodePools', Object.keys(tl.nodesByNodePool).join(','), 'serving-spot (spot)') },
  { scenario: 'examples/serving-spot-overflow/scenario-pure-spot-retries.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'] },
  // Two 20-GPU training gangs on 24 GPUs (examples/distributed-training/README.md): without
  // Kueue both hold GPUs from 1m50s on and never advance: 24 GPUs allocated at the end;
  // with Kueue the second is admitted when the first finishes (1h1m41s).
  { scenario: 'examples/distributed-training/scenario-without-kueue.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost'],
    check: (tl, eq) => eq('GPUs allocated at the end', tl.gpuAllocated[tl.gpuAllocated.length - 1], 24) },
  { scenario: 'examples/distributed-training/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'kueue', 'kueue-usage'],
    check: (tl, eq) => {
      eq('GPUs admitted to training at 30m', at(tl.kueue.training.gpusAdmitted, 30), 20);
      eq('workloads pending at 30m', at(tl.kueue.training.pending, 30), 1);
    } },
  // Llama 3.1 405B on a LeaderWorkerSet group of two p5 nodes (examples/multi-node-serving):
  // Ready at 17m18s; the spot interruption at 2h takes the whole group until 2h17m15s. With
  // two groups one keeps serving.
  { scenario: 'examples/multi-node-serving/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => {
      eq('ready replicas at 1h', at(tl.serving.chat.ready, 60), 1);
      eq('ready replicas at 2h10m', at(tl.serving.chat.ready, 130), 0);
      eq('ready replicas at 2h20m', at(tl.serving.chat.ready, 140), 1);
    } },
  { scenario: 'examples/multi-node-serving/scenario-two-groups.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost', 'replicas-0', 'ttft-0'],
    check: (tl, eq) => eq('ready replicas at 2h10m', at(tl.serving.chat.ready, 130), 1) },
  // One A100 time-sliced into 7 replicas (GFD renames it -SHARED), one cut into seven
  // 1g.10gb MIG devices; 5 pods on each at the start, the leaky job joins ts at 30m.
  { scenario: 'examples/time-slicing-vs-mig/scenario.yaml',
    charts: ['pods', 'waiting', 'gpus', 'nodes', 'cost'],
    check: (tl, eq) => {
      const ts = tl.gpusByModel['NVIDIA-A100-SXM4-80GB-SHARED'];
      const mig = tl.gpusByModel['NVIDIA-A100-SXM4-80GB-MIG-1g.10gb'];
      eq('time-sliced replicas', Math.max(...ts.capacity), 7);
      eq('MIG devices', Math.max(...mig.capacity), 7);
      eq('time-sliced devices held at 31m', at(ts.allocated, 31), 6);
      eq('MIG devices held at 31m', at(mig.allocated, 31), 5);
    } },
];

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
// Screenshots for docs/ (a few seconds per page): only with GPUTWIN_SCREENSHOTS=1.
const shot = async (p, opts) => { if (process.env.GPUTWIN_SCREENSHOTS === '1') await p.screenshot(opts); };
let failures = 0;
const fail = (msg) => { failures++; console.log('FAIL: ' + msg); };
try {
  for (const c of cases) {
    c.name = c.scenario.replace(/^examples\//, '').replace(/\/scenario-?/, '-').replace(/\.yaml$/, '').replace(/-$/, '');
    const html = path.join(outDir, c.name + '.html');
    execFileSync(gputwin, ['run', path.join(root, c.scenario), '--html', html], { stdio: 'ignore' });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push('network: ' + r.url()); });
    await page.goto('file://' + html, { waitUntil: 'load' });
    if (errors.length) fail(`${c.name}: ${errors.join('; ')}`);
    // Each chart a canvas with its series drawn; the ones the story needs all there.
    const charts = await page.$$eval('.chart', (els) => els.map((e) => ({
      id: e.id, canvases: e.querySelectorAll('canvas').length, series: Number(e.dataset.rendered || 0) })));
    for (const ch of charts) {
      if (ch.canvases < 1 || ch.series < 1) fail(`${c.name}: chart ${ch.id} did not render (${JSON.stringify(ch)})`);
    }
    const got = charts.map((ch) => ch.id.replace(/^chart-/, ''));
    if (got.join(',') !== c.charts.join(',')) fail(`${c.name}: charts ${got.join(',')}, want ${c.charts.join(',')}`);
    const tl = await page.evaluate(() => JSON.parse(document.getElementById('gputwin-data').textContent).timelines);
    const eq = (what, g, want) => {
      const bad = typeof want === 'number' ? !(Math.abs(g - want) <= 1e-6) : g !== want;
      if (bad) fail(`${c.name}: ${what} is ${g}, want ${want}`);
    };
    if (c.check) {
      try { c.check(tl, eq, (m) => fail(`${c.name}: ${m}`)); } catch (e) { fail(`${c.name}: ${e}`); }
    }
    // The overview's cost card reads like money; the node Gantt has a bar per node.
    const cost = await page.$eval('#overview .card b', (e) => e.textContent);
    if (!/^\$\d{1,3}(,\d{3})*\.\d\d$/.test(cost)) fail(`${c.name}: overview cost "${cost}"`);
    const gantt = await page.$$eval('#nodes .gantt', (els) => els.filter((e) => e.children.length > 0).length);
    if (gantt < 1) fail(`${c.name}: node Gantt is empty`);
    await shot(page, { path: path.join(outDir, c.name + '.png'), fullPage: true });
    await page.close();
    console.log(`ok ${c.name}: ${charts.length} charts, cost ${cost}`);
  }
  // Two runs side by side (gputwin report OUT1 OUT2 --html): each chart overlays both.
  const runs = ['on-demand-base', 'pure-spot'].map((n) => {
    const dir = path.join(outDir, 'spot-' + n);
    execFileSync(gputwin, ['run', path.join(root, `examples/serving-spot-overflow/scenario-${n}.yaml`),
      '--out', dir], { stdio: 'ignore' });
    return dir;
  });
  const cmp = path.join(outDir, 'comparison.html');
  execFileSync(gputwin, ['report', ...runs, '--html', cmp], { stdio: 'ignore' });
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('file://' + cmp, { waitUntil: 'load' });
  if (errors.length) fail(`comparison: ${errors.join('; ')}`);
  const charts = await page.$$eval('.chart', (els) => els.map((e) => Number(e.dataset.rendered || 0)));
  // Both runs serve a model: the four cluster charts and the two serving ones, 2 runs each.
  if (charts.length !== 6 || charts.some((n) => n !== 2)) fail(`comparison: charts ${JSON.stringify(charts)}`);
  const head = await page.$$eval('#overview th', (els) => els.map((e) => e.textContent));
  if (head.join('|') !== '|spot-on-demand-base|spot-pure-spot') fail(`comparison: columns ${head.join('|')}`);
  await shot(page, { path: path.join(outDir, 'comparison.png'), fullPage: true });
  console.log(`ok comparison: ${charts.length} charts of ${charts[0]} runs`);

  // A sweep's page (examples/sweep-spot-share, its README): half on spot is the cheapest
  // point meeting the objectives; all on demand costs more, all spot fails requests.
  const sweepDir = path.join(outDir, 'sweep-spot-share');
  execFileSync(gputwin, ['sweep', path.join(root, 'examples/sweep-spot-share/sweep.yaml'),
    '--out', sweepDir, '--jobs', '2'], { stdio: 'ignore' });
  const sp = await browser.newPage();
  await sp.setViewport({ width: 1400, height: 1000 });
  const sweepErrors = [];
  sp.on('console', (m) => { if (m.type() === 'error') sweepErrors.push(m.text()); });
  sp.on('pageerror', (e) => sweepErrors.push(String(e)));
  await sp.goto('file://' + path.join(sweepDir, 'report.html'), { waitUntil: 'load' });
  if (sweepErrors.length) fail(`sweep: ${sweepErrors.join('; ')}`);
  const verdict = await sp.$eval('#verdict', (e) => e.textContent);
  if (!verdict.includes('spotShare=50 meets every objective')) fail(`sweep: verdict "${verdict}"`);
  // Every point drawn inside the chart; the best lies left of (cheaper than) all-on-demand,
  // all-spot is red.
  const dots = await sp.$$eval('#pareto circle', (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    return { cls: e.getAttribute('class'), name: e.textContent.split(':')[0], x: r.x, w: r.width };
  }));
  if (dots.length !== 3 || dots.some((d) => !(d.w > 0))) fail(`sweep: dots ${JSON.stringify(dots)}`);
  const dot = (n) => dots.find((d) => d.name === n) || {};
  if (!String(dot('spotShare=50').cls).includes('best')) fail(`sweep: best ${JSON.stringify(dots)}`);
  if (!(dot('spotShare=50').x < dot('spotShare=0').x)) fail('sweep: the best is not cheaper than all on demand');
  if (!String(dot('spotShare=100').cls).includes('misses')) fail('sweep: all spot should miss');
  await shot(sp, { path: path.join(outDir, 'sweep.png'), fullPage: true });
  console.log(`ok sweep: ${dots.length} points, best spotShare=50`);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
