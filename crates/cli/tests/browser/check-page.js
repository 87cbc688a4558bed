// Loads the report page in Debian's chromium (through playwright-core, no
// downloaded browser) and checks it as a reader would use it: no console
// errors or CSP violations, no request leaves the page's origin, the area
// and severity filters work, the capacity chart and the versions table are
// there. Saves a full-page screenshot.
//
// usage: node check-page.js URL SCREENSHOT.png
// env:   CHROMIUM (default /usr/bin/chromium)
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

function fail(message) {
  throw new Error(message);
}

async function visibleFindings(page) {
  return page.$$eval(".finding", (all) =>
    all.filter((f) => !f.hidden && f.offsetParent !== null).map((f) => ({
      area: f.dataset.area,
      severity: f.dataset.severity,
    })),
  );
}

async function main() {
  const [url, screenshot] = process.argv.slice(2);
  if (!url || !screenshot) {
    console.error("usage: node check-page.js URL SCREENSHOT.png");
    process.exit(2);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const errors = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") {
        errors.push(`console ${m.type()}: ${m.text()}`);
      }
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    const origin = new URL(url).origin;
    const foreign = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin)) {
        foreign.push(r.url());
      }
    });
    // CSP violations also reach the console; this catches them even if not.
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });

    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || response.status() !== 200) {
      fail(`GET ${url}: ${response ? response.status() : "no response"}`);
    }
    const contentType = response.headers()["content-type"] || "";
    if (!contentType.startsWith("text/html")) {
      fail(`content-type ${contentType}, wanted text/html`);
    }

    // The inline script ran (its hash is in the CSP): the filters show.
    if (!(await page.isVisible("#filters"))) {
      fail("the filter form stayed hidden: the inline script did not run");
    }
    const total = await page.$$eval(".finding", (all) => all.length);
    if (total === 0) {
      fail("no finding cards");
    }
    const all = await visibleFindings(page);
    if (all.length !== total) {
      fail(`${all.length} of ${total} findings visible before filtering`);
    }
    const groups = await page.$$eval("#findings .group h3", (h) => h.map((x) => x.textContent));
    const order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"];
    const ranks = groups.map((g) => order.indexOf(g.split(" ")[0]));
    if (ranks.some((r, i) => r < 0 || (i > 0 && r <= ranks[i - 1]))) {
      fail(`severity groups out of order: ${groups.join(", ")}`);
    }

    // One area: only its findings stay.
    const counts = {};
    all.forEach((f) => (counts[f.area] = (counts[f.area] || 0) + 1));
    const area = Object.keys(counts).sort((a, b) => counts[b] - counts[a]).find((a) => counts[a] < total);
    if (!area) {
      fail("every finding is in one area: the area filter cannot be tested");
    }
    await page.check(`#filters input[name=area][value="${area}"]`);
    const inArea = await visibleFindings(page);
    if (inArea.length !== counts[area] || inArea.some((f) => f.area !== area)) {
      fail(`area ${area}: ${JSON.stringify(inArea)} visible, wanted ${counts[area]} ${area} findings`);
    }
    const status = await page.textContent("#filter-status");
    if (!status.includes(`${counts[area]} of ${total}`)) {
      fail(`filter status says ${JSON.stringify(status)}`);
    }
    const emptyGroups = await page.$$eval("#findings .group", (gs) =>
      gs.filter((g) => !g.hidden && !g.querySelector(".finding:not([hidden])")).length,
    );
    if (emptyGroups > 0) {
      fail(`${emptyGroups} severity group(s) without a visible finding stayed visible`);
    }

    // A severity off on top of it, then "Show all".
    const severity = inArea[0].severity;
    await page.uncheck(`#filters input[name=severity][value="${severity}"]`);
    const narrowed = await visibleFindings(page);
    if (narrowed.some((f) => f.severity === severity || f.area !== area)) {
      fail(`severity ${severity} off: ${JSON.stringify(narrowed)} visible`);
    }
    await page.click("#filters button[type=reset]");
    await page.waitForFunction(
      (n) => document.querySelectorAll(".finding:not([hidden])").length === n,
      total,
    );

    // The capacity chart and the versions table.
    const bars = await page.$$eval("#capacity svg.chart rect.used", (r) => r.length);
    if (bars === 0) {
      fail("no capacity chart bars");
    }
    const checks = await page.$$eval("#versions table.checks tbody tr", (r) => r.length);
    if (checks === 0) {
      fail("no versions table rows");
    }

    const csp = await page.evaluate(() => window.__csp);
    if (csp.length > 0) {
      fail(`CSP violations: ${csp.join("; ")}`);
    }
    if (errors.length > 0) {
      fail(errors.join("\n"));
    }
    if (foreign.length > 0) {
      fail(`requests outside ${origin}: ${foreign.join(", ")}`);
    }

    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(
      JSON.stringify({ findings: total, area, area_findings: counts[area], capacity_bars: bars, version_checks: checks, screenshot }),
    );
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`browser check failed: ${e.message}`);
  process.exit(1);
});
