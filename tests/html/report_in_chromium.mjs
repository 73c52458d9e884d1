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

// Each example and what its story puts on the page (derived from the example's README).
const cases = [
  // Quickstart: 3 nodes of 4 V100s; 6 training pods of 2 GPUs run at once; 8 pods wait
  // at the start (6 training pods and the 2 inference pods); 3 × $12.24 per hour.
  { scenario: 'examples/quickstart/scenario.yaml', name: 'quickstart',
    check: { gpuCapacity0: 12, gpuAllocated0: 12, pending0: 8, running0: 6, cost0: 36.72 } },
  { scenario: 'examples/gpu-nodepools-spot/scenario.yaml', name: 'gpu-nodepools-spot',
    check: { nodeTypes: ['on-demand', 'spot'] } },
  // Kueue, two teams: their ClusterQueues each get a pending and an admitted series.
  { scenario: 'examples/kueue-two-teams/scenario.yaml', name: 'kueue-two-teams',
    check: { charts: 5, queues: ['inference', 'research'] } },
];

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failures = 0;
const fail = (msg) => { failures++; console.log('FAIL: ' + msg); };
try {
  for (const c of cases) {
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
    // Four charts, each a canvas with its series drawn.
    const charts = await page.$$eval('.chart', (els) => els.map((e) => ({
      id: e.id, canvases: e.querySelectorAll('canvas').length, series: Number(e.dataset.rendered || 0) })));
    const want = c.check.charts || 4;
    if (charts.length !== want) fail(`${c.name}: ${charts.length} charts, want ${want}`);
    for (const ch of charts) {
      if (ch.canvases < 1 || ch.series < 1) fail(`${c.name}: chart ${ch.id} did not render (${JSON.stringify(ch)})`);
    }
    const tl = await page.evaluate(() => JSON.parse(document.getElementById('gputwin-data').textContent).timelines);
    const k = c.check;
    const eq = (what, got, want) => { if (Math.abs(got - want) > 1e-6) fail(`${c.name}: ${what} is ${got}, want ${want}`); };
    if ('gpuCapacity0' in k) eq('GPU capacity at 0', tl.gpuCapacity[0], k.gpuCapacity0);
    if ('gpuAllocated0' in k) eq('GPUs allocated at 0', tl.gpuAllocated[0], k.gpuAllocated0);
    if ('pending0' in k) eq('pods Pending at 0', tl.pending[0], k.pending0);
    if ('running0' in k) eq('pods Running at 0', tl.running[0], k.running0);
    if ('cost0' in k) eq('cost rate at 0', tl.costPerHour[0], k.cost0);
    if (k.queues) {
      const got = Object.keys(tl.kueue).sort().join(',');
      if (got !== k.queues.join(',')) fail(`${c.name}: ClusterQueues ${got}`);
    }
    if (k.nodeTypes) {
      const got = Object.keys(tl.nodes).sort().join(',');
      if (got !== k.nodeTypes.join(',')) fail(`${c.name}: node capacity types ${got}`);
    }
    // The overview's cost card reads like money.
    const cost = await page.$eval('#overview .card b', (e) => e.textContent);
    if (!/^\$\d+\.\d\d$/.test(cost)) fail(`${c.name}: overview cost "${cost}"`);
    await page.screenshot({ path: path.join(outDir, c.name + '.png'), fullPage: true });
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
  if (charts.length !== 4 || charts.some((n) => n !== 2)) fail(`comparison: charts ${JSON.stringify(charts)}`);
  const head = await page.$$eval('#overview th', (els) => els.map((e) => e.textContent));
  if (head.join('|') !== '|spot-on-demand-base|spot-pure-spot') fail(`comparison: columns ${head.join('|')}`);
  await page.screenshot({ path: path.join(outDir, 'comparison.png'), fullPage: true });
  console.log(`ok comparison: ${charts.length} charts of ${charts[0]} runs`);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
